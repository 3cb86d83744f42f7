mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  # ARN-typed arguments are validated by the provider even under a mock.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/shiplane-mlflow-rds-monitoring" }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      master_user_secret = [{
        secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0000-AbCdEf"
        kms_key_id    = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
        secret_status = "active"
      }]
    }
  }
}

variables {
  identifier                 = "shiplane-mlflow"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-0a", "subnet-0b", "subnet-0c"]
  allowed_security_group_ids = { eks_cluster = "sg-0123456789abcdef0" }
  tags                       = { Project = "shiplane" }
}

run "database_private_encrypted_with_managed_password" {
  command = apply

  assert {
    condition     = aws_db_instance.this.engine == "postgres" && aws_db_instance.this.engine_version == "17"
    error_message = "The backend store must be PostgreSQL 17 by default."
  }

  assert {
    condition     = !aws_db_instance.this.publicly_accessible
    error_message = "The database must not be publicly accessible."
  }

  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == module.kms.key_arn
    error_message = "Storage must be encrypted with the module's KMS key."
  }

  assert {
    condition = (
      aws_db_instance.this.manage_master_user_password
      && aws_db_instance.this.password == null
      && aws_db_instance.this.master_user_secret_kms_key_id == module.kms.key_arn
    )
    error_message = "The master password must be generated and kept by RDS in Secrets Manager, never passed by Terraform."
  }

  assert {
    condition     = output.master_user_secret_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0000-AbCdEf"
    error_message = "The master-user secret ARN must be an output."
  }

  assert {
    condition     = module.kms.key_rotation_enabled
    error_message = "The database KMS key must rotate."
  }

  assert {
    condition = (
      aws_db_instance.this.deletion_protection && aws_db_instance.this.skip_final_snapshot == false
      && aws_db_instance.this.multi_az && aws_db_instance.this.backup_retention_period == 7
    )
    error_message = "The MLflow database must be protected against deletion and loss by default."
  }

  assert {
    condition     = aws_db_instance.this.db_name == "mlflow" && aws_db_instance.this.identifier == "shiplane-mlflow"
    error_message = "Database name and identifier must follow the variables."
  }
}

run "tls_required_and_queries_logged" {
  command = apply

  assert {
    condition     = anytrue([for p in aws_db_parameter_group.this.parameter : p.name == "rds.force_ssl" && p.value == "1"])
    error_message = "The parameter group must force TLS."
  }

  assert {
    condition     = aws_db_parameter_group.this.family == "postgres17" && aws_db_instance.this.parameter_group_name == aws_db_parameter_group.this.name
    error_message = "The instance must use the module's parameter group of the matching family."
  }

  assert {
    condition     = toset(aws_db_instance.this.enabled_cloudwatch_logs_exports) == toset(["postgresql", "upgrade"])
    error_message = "PostgreSQL logs must be exported to CloudWatch Logs."
  }
}

run "only_allowed_sources_reach_the_port" {
  command = apply

  variables {
    allowed_cidr_blocks = ["10.0.0.0/16"]
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.from_security_group["eks_cluster"].referenced_security_group_id == "sg-0123456789abcdef0"
      && aws_vpc_security_group_ingress_rule.from_security_group["eks_cluster"].from_port == 5432
      && aws_vpc_security_group_ingress_rule.from_security_group["eks_cluster"].to_port == 5432
    )
    error_message = "The allowed security group must reach PostgreSQL's port and nothing else."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_cidr["10.0.0.0/16"].cidr_ipv4 == "10.0.0.0/16"
    error_message = "Allowed CIDR blocks must become ingress rules."
  }

  assert {
    condition     = length(aws_security_group.this.ingress) == 0 && length(aws_security_group.this.egress) == 0
    error_message = "The security group must hold no inline rules (ingress is managed rule by rule, egress not at all)."
  }
}

run "parameter_group_follows_major_version" {
  command = apply

  variables {
    engine_version = "16.8"
  }

  assert {
    condition     = aws_db_parameter_group.this.family == "postgres16"
    error_message = "The parameter group family must follow the engine's major version."
  }
}

run "tags_on_every_resource" {
  command = apply

  assert {
    condition = alltrue([
      aws_db_instance.this.tags["Project"] == "shiplane",
      aws_db_subnet_group.this.tags["Project"] == "shiplane",
      aws_security_group.this.tags["Project"] == "shiplane",
      aws_db_parameter_group.this.tags["Project"] == "shiplane",
      module.kms.key_tags["Project"] == "shiplane",
      aws_iam_role.monitoring[0].tags["Project"] == "shiplane",
    ])
    error_message = "The tags variable must be applied to the module's resources."
  }
}

run "rejects_invalid_identifier" {
  command = plan

  variables {
    identifier = "Shiplane_MLflow"
  }

  expect_failures = [var.identifier]
}

run "rejects_empty_identifier" {
  command = plan

  variables {
    identifier = ""
  }

  expect_failures = [var.identifier]
}

run "rejects_world_open_cidr" {
  command = plan

  variables {
    allowed_cidr_blocks = ["0.0.0.0/0"]
  }

  expect_failures = [var.allowed_cidr_blocks]
}

run "rejects_storage_ceiling_below_floor" {
  command = plan

  variables {
    allocated_storage     = 200
    max_allocated_storage = 100
  }

  expect_failures = [var.max_allocated_storage]
}

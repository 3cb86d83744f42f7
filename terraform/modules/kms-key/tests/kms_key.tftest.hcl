mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
}

variables {
  description = "shiplane test key"
  alias_name  = "shiplane-test"
  tags        = { Project = "shiplane" }
}

run "rotating_key_administered_by_the_account_only" {
  command = apply

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && output.key_rotation_enabled
    error_message = "The key must rotate."
  }

  assert {
    condition     = aws_kms_key.this.deletion_window_in_days == 30 && aws_kms_key.this.description == "shiplane test key"
    error_message = "The key must keep the longest deletion window by default and carry the given description."
  }

  assert {
    condition = jsondecode(aws_kms_key.this.policy).Statement == [{
      Sid       = "AccountAdministration"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::123456789012:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
    error_message = "Without service statements the policy must only let the account (root) administer the key: no other principal, no wildcard."
  }

  assert {
    condition     = aws_kms_alias.this.name == "alias/shiplane-test" && output.alias_name == "alias/shiplane-test"
    error_message = "The alias must be alias/<alias_name>."
  }

  assert {
    condition     = aws_kms_alias.this.target_key_id == aws_kms_key.this.key_id && output.key_id == aws_kms_key.this.key_id
    error_message = "The alias must point at the module's key."
  }

  assert {
    condition     = output.key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    error_message = "key_arn must be the key's ARN."
  }

  assert {
    condition     = aws_kms_key.this.tags == tomap({ Project = "shiplane" }) && output.key_tags == aws_kms_key.this.tags
    error_message = "The tags variable must be applied to the key."
  }
}

run "service_statement_is_scoped_by_its_condition" {
  command = apply

  variables {
    service_statements = [{
      sid     = "CloudWatchLogsForThisLogGroupOnly"
      service = "logs.eu-west-1.amazonaws.com"
      actions = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      condition = {
        ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/test" }
      }
    }]
  }

  assert {
    condition     = length(jsondecode(output.key_policy).Statement) == 2 && jsondecode(output.key_policy).Statement[0].Sid == "AccountAdministration"
    error_message = "Account administration must stay first, followed by exactly the given service statement."
  }

  assert {
    condition = jsondecode(output.key_policy).Statement[1] == {
      Sid       = "CloudWatchLogsForThisLogGroupOnly"
      Effect    = "Allow"
      Principal = { Service = "logs.eu-west-1.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      Resource  = "*"
      Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/test" } }
    }
    error_message = "A service statement must allow only its service principal, only its actions, and only under its condition."
  }
}

run "rejects_unconditioned_service_statement" {
  command = plan

  variables {
    service_statements = [{
      sid       = "Logs"
      service   = "logs.eu-west-1.amazonaws.com"
      actions   = ["kms:Decrypt*"]
      condition = {}
    }]
  }

  expect_failures = [var.service_statements]
}

run "rejects_kms_wildcard_for_a_service" {
  command = plan

  variables {
    service_statements = [{
      sid       = "Logs"
      service   = "logs.eu-west-1.amazonaws.com"
      actions   = ["kms:*"]
      condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }]
  }

  expect_failures = [var.service_statements]
}

run "rejects_non_service_principal" {
  command = plan

  variables {
    service_statements = [{
      sid       = "Everyone"
      service   = "*"
      actions   = ["kms:Decrypt"]
      condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }]
  }

  expect_failures = [var.service_statements]
}

run "rejects_reused_administration_sid" {
  command = plan

  variables {
    service_statements = [{
      sid       = "AccountAdministration"
      service   = "logs.eu-west-1.amazonaws.com"
      actions   = ["kms:Decrypt*"]
      condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }]
  }

  expect_failures = [var.service_statements]
}

run "rejects_alias_with_dots" {
  command = plan

  variables {
    alias_name = "artifacts.shiplane.example.com"
  }

  expect_failures = [var.alias_name]
}

run "rejects_aws_reserved_alias" {
  command = plan

  variables {
    alias_name = "aws/s3"
  }

  expect_failures = [var.alias_name]
}

run "rejects_short_deletion_window" {
  command = plan

  variables {
    deletion_window_in_days = 3
  }

  expect_failures = [var.deletion_window_in_days]
}

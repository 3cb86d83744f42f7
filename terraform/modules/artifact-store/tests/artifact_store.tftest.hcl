mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::shiplane-mlflow-artifacts-123456789012" }
  }
}

variables {
  bucket_name = "shiplane-mlflow-artifacts-123456789012"
  tags        = { Project = "shiplane" }
}

run "bucket_is_private_encrypted_and_versioned" {
  command = apply

  assert {
    condition     = aws_s3_bucket.this.bucket == "shiplane-mlflow-artifacts-123456789012" && !aws_s3_bucket.this.force_destroy
    error_message = "The bucket must carry the given name and refuse deletion while it holds artifacts."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls
      && aws_s3_bucket_public_access_block.this.block_public_policy
      && aws_s3_bucket_public_access_block.this.ignore_public_acls
      && aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "All four public access blocks must be on."
  }

  assert {
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition = alltrue([
      for r in aws_s3_bucket_server_side_encryption_configuration.this.rule :
      one(r.apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
      && one(r.apply_server_side_encryption_by_default).kms_master_key_id == module.kms.key_arn
      && r.bucket_key_enabled
    ])
    error_message = "Objects must be encrypted by default with the module's KMS key (bucket key on)."
  }

  assert {
    condition     = module.kms.key_rotation_enabled
    error_message = "The artifact KMS key must rotate."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled."
  }

  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "Access logging is opt-in through access_log_bucket."
  }
}

run "bucket_policy_denies_plain_http_and_old_tls" {
  command = apply

  assert {
    condition = anytrue([
      for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement :
      s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*"
      && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
      && toset(s.Resource) == toset(["arn:aws:s3:::shiplane-mlflow-artifacts-123456789012", "arn:aws:s3:::shiplane-mlflow-artifacts-123456789012/*"])
    ])
    error_message = "The bucket policy must deny every request not made over TLS, on the bucket and its objects."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement :
      s.Effect == "Deny" && try(s.Condition.NumericLessThan["s3:TlsVersion"], "") == "1.2"
    ])
    error_message = "The bucket policy must deny TLS versions below 1.2."
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Effect == "Deny"])
    error_message = "The bucket policy must only deny; access is granted through IAM roles."
  }
}

run "read_only_policy_cannot_write" {
  command = apply

  assert {
    condition = alltrue([
      for s in jsondecode(output.read_only_policy_json).Statement :
      length(setintersection(toset(flatten([s.Action])), toset(["s3:PutObject", "s3:DeleteObject", "kms:GenerateDataKey"]))) == 0
    ])
    error_message = "The read-only policy must not allow writes or deletes."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(output.read_only_policy_json).Statement :
      contains(flatten([s.Action]), "s3:GetObject") && s.Resource == "arn:aws:s3:::shiplane-mlflow-artifacts-123456789012/mlflow/*"
    ])
    error_message = "The read-only policy must allow reading objects under the artifact prefix only."
  }
}

run "read_write_policy_scoped_to_prefix" {
  command = apply

  variables {
    artifact_prefix = "team-a/mlflow/"
  }

  assert {
    condition = anytrue([
      for s in jsondecode(output.read_write_policy_json).Statement :
      contains(flatten([s.Action]), "s3:PutObject") && s.Resource == "arn:aws:s3:::shiplane-mlflow-artifacts-123456789012/team-a/mlflow/*"
    ])
    error_message = "The read-write policy must allow writes under the artifact prefix only."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(output.read_write_policy_json).Statement :
      s.Resource != "*" && !endswith(s.Resource, ":::shiplane-mlflow-artifacts-123456789012/*")
    ])
    error_message = "No statement may cover every resource or the whole bucket's objects."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(output.read_write_policy_json).Statement :
      s.Action == "s3:ListBucket" && try(toset(s.Condition.StringLike["s3:prefix"]), null) == toset(["team-a/mlflow/", "team-a/mlflow/*"])
    ])
    error_message = "Listing must be limited to the artifact prefix."
  }

  assert {
    condition     = output.artifact_root_uri == "s3://shiplane-mlflow-artifacts-123456789012/team-a/mlflow/"
    error_message = "artifact_root_uri must point at the prefix."
  }
}

run "access_logging_when_asked" {
  command = apply

  variables {
    access_log_bucket = "central-access-logs"
  }

  assert {
    condition     = aws_s3_bucket_logging.this[0].target_bucket == "central-access-logs"
    error_message = "Access logs must go to the given bucket."
  }
}

run "dotted_bucket_name_gives_valid_kms_alias" {
  command = plan

  variables {
    bucket_name = "artifacts.shiplane.example.com"
  }

  assert {
    condition     = module.kms.alias_name == "alias/artifacts-shiplane-example-com"
    error_message = "KMS alias names cannot contain dots: they must be replaced."
  }
}

run "tags_on_every_resource" {
  command = apply

  assert {
    condition     = aws_s3_bucket.this.tags["Project"] == "shiplane" && module.kms.key_tags["Project"] == "shiplane"
    error_message = "The tags variable must be applied to the module's resources."
  }
}

run "rejects_uppercase_bucket_name" {
  command = plan

  variables {
    bucket_name = "Shiplane-Artifacts"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_ip_like_bucket_name" {
  command = plan

  variables {
    bucket_name = "192.168.10.1"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_bucket_name_with_double_dot" {
  command = plan

  variables {
    bucket_name = "shiplane..artifacts"
  }

  expect_failures = [var.bucket_name]
}

run "rejects_empty_bucket_name" {
  command = plan

  variables {
    bucket_name = ""
  }

  expect_failures = [var.bucket_name]
}

run "rejects_prefix_with_leading_slash" {
  command = plan

  variables {
    artifact_prefix = "/mlflow/"
  }

  expect_failures = [var.artifact_prefix]
}

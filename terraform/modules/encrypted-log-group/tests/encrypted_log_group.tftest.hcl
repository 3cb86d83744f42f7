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
  # ARN-typed arguments are validated by the provider even under a mock.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/test/shiplane" }
  }
}

variables {
  name            = "/aws/test/shiplane"
  key_description = "shiplane test logs"
  key_alias_name  = "shiplane-test-logs"
  tags            = { Project = "shiplane" }
}

run "log_group_encrypted_with_its_own_key" {
  command = apply

  assert {
    condition = (
      aws_cloudwatch_log_group.this.name == "/aws/test/shiplane"
      && output.log_group_name == "/aws/test/shiplane"
      && output.log_group_arn == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/test/shiplane"
    )
    error_message = "The log group must carry the given name."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == module.kms.key_arn && output.key_arn == module.kms.key_arn && output.key_id == module.kms.key_id
    error_message = "The log group must be encrypted with the module's key."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 365 && output.log_group_retention_in_days == 365
    error_message = "Log events must be kept for a year by default."
  }

  assert {
    condition     = output.key_rotation_enabled && output.alias_name == "alias/shiplane-test-logs"
    error_message = "The key must rotate and carry the given alias."
  }

  assert {
    condition = (
      output.log_group_tags == tomap({ Project = "shiplane" })
      && output.key_tags == tomap({ Project = "shiplane", Name = "shiplane-test-logs" })
    )
    error_message = "The tags variable must reach the log group and the key, which is also named after its alias."
  }
}

run "only_this_log_group_may_use_the_key" {
  command = apply

  assert {
    condition     = length(jsondecode(output.key_policy).Statement) == 2 && jsondecode(output.key_policy).Statement[0].Sid == "AccountAdministration"
    error_message = "The key policy must hold account administration and the CloudWatch Logs statement, nothing else."
  }

  assert {
    condition = jsondecode(output.key_policy).Statement[1] == {
      Sid       = "CloudWatchLogsForThisLogGroupOnly"
      Effect    = "Allow"
      Principal = { Service = "logs.eu-west-1.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      Resource  = "*"
      Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/test/shiplane" } }
    }
    error_message = "CloudWatch Logs of this region may use the key for this log group only."
  }
}

run "statement_sid_can_be_kept" {
  command = apply

  variables {
    key_statement_sid = "CloudWatchLogsForThisClusterOnly"
    retention_in_days = 30
  }

  assert {
    condition     = jsondecode(output.key_policy).Statement[1].Sid == "CloudWatchLogsForThisClusterOnly"
    error_message = "key_statement_sid must name the CloudWatch Logs statement."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 30
    error_message = "retention_in_days must be applied to the log group."
  }
}

run "rejects_invalid_name" {
  command = plan

  variables {
    name = "/aws/test/with spaces"
  }

  expect_failures = [var.name]
}

run "rejects_unsupported_retention" {
  command = plan

  variables {
    retention_in_days = 42
  }

  expect_failures = [var.retention_in_days]
}

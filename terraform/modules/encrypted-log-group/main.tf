data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # The ARN CloudWatch Logs puts in the encryption context of every call it
  # makes with the key for this log group (no ":*" suffix).
  log_group_arn = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${var.name}"
}

# CloudWatch Logs calls KMS as itself, so the key policy needs a statement for
# the service; the encryption-context condition narrows it to this log group.
# Account administration (in kms-key) lets IAM policies grant the key's use to
# anything else the caller encrypts with it.
module "kms" {
  source = "../kms-key"

  description = var.key_description
  alias_name  = var.key_alias_name
  service_statements = [{
    sid     = var.key_statement_sid
    service = "logs.${data.aws_region.current.name}.amazonaws.com"
    actions = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    condition = {
      ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = local.log_group_arn }
    }
  }]
  tags = merge(var.tags, { Name = var.key_alias_name })
}

resource "aws_cloudwatch_log_group" "this" {
  name              = var.name
  retention_in_days = var.retention_in_days
  kms_key_id        = module.kms.key_arn

  tags = var.tags
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Without this statement IAM policies could not grant use of the key: AWS
  # services such as S3, RDS, Secrets Manager and ECR then use it through
  # grants made on behalf of IAM principals whose own policies allow it.
  account_administration = {
    Sid       = "AccountAdministration"
    Effect    = "Allow"
    Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
    Action    = "kms:*"
    Resource  = "*"
  }

  # Services that call KMS as themselves (CloudWatch Logs) need a statement of
  # their own, narrowed by the caller's conditions to the one resource using it.
  service_statements = [
    for s in var.service_statements : {
      Sid       = s.sid
      Effect    = "Allow"
      Principal = { Service = s.service }
      Action    = s.actions
      Resource  = "*"
      Condition = s.condition
    }
  ]
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.account_administration], local.service_statements)
  })

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias_name}"
  target_key_id = aws_kms_key.this.key_id
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
}

resource "aws_kms_key" "registry" {
  description             = "${var.name} ECR images"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  # ECR encrypts through grants it creates on behalf of the pushing principal;
  # account administration is all the key policy needs.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministration"
      Effect    = "Allow"
      Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })

  tags = merge(var.tags, { Name = "${var.name}-ecr" })
}

resource "aws_kms_alias" "registry" {
  name          = "alias/${var.name}-ecr"
  target_key_id = aws_kms_key.registry.key_id
}

resource "aws_ecr_repository" "this" {
  for_each = toset(var.repository_names)

  name = each.value
  # A tag always names the same image: what was tested is what gets deployed,
  # and a rollback to a tag really rolls back.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.registry.arn
  }

  tags = merge(var.tags, { Name = each.value })
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Expire untagged images after ${var.untagged_image_expiration_days} days"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = var.untagged_image_expiration_days
      }
      action = { type = "expire" }
    }]
  })
}

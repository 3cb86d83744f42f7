data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
}

# ECR encrypts through grants it creates on behalf of the pushing principal;
# account administration is all the key policy needs.
module "kms" {
  source = "../kms-key"

  description = "${var.name} ECR images"
  alias_name  = "${var.name}-ecr"
  tags        = merge(var.tags, { Name = "${var.name}-ecr" })
}

# Keeps the key of existing deployments: without these, Terraform would destroy
# it (and with it every image's encryption) to create the module's.
moved {
  from = aws_kms_key.registry
  to   = module.kms.aws_kms_key.this
}

moved {
  from = aws_kms_alias.registry
  to   = module.kms.aws_kms_alias.this
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
    kms_key         = module.kms.key_arn
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

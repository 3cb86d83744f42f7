mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
}

variables {
  name             = "shiplane"
  repository_names = ["shiplane/serving", "shiplane/training", "shiplane/router"]
  tags             = { Project = "shiplane" }
}

run "repositories_scanned_immutable_and_encrypted" {
  command = apply

  assert {
    condition     = toset(keys(aws_ecr_repository.this)) == toset(["shiplane/serving", "shiplane/training", "shiplane/router"])
    error_message = "One repository per image must be created, named as given."
  }

  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_scanning_configuration[0].scan_on_push])
    error_message = "Every repository must scan images on push."
  }

  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_tag_mutability == "IMMUTABLE"])
    error_message = "Every repository must have immutable tags."
  }

  assert {
    condition = alltrue([
      for r in aws_ecr_repository.this :
      r.encryption_configuration[0].encryption_type == "KMS" && r.encryption_configuration[0].kms_key == module.kms.key_arn
    ])
    error_message = "Every repository must be encrypted with the module's KMS key."
  }

  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : !r.force_delete])
    error_message = "Repositories holding images must not be deletable by default."
  }

  assert {
    condition     = output.registry_url == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    error_message = "registry_url must be the registry host, without a repository."
  }
}

run "lifecycle_only_expires_untagged_images" {
  command = apply

  assert {
    condition = alltrue([
      for p in aws_ecr_lifecycle_policy.this :
      alltrue([for r in jsondecode(p.policy).rules : r.selection.tagStatus == "untagged"])
    ])
    error_message = "Lifecycle rules must never expire tagged images (a deployed model may use one)."
  }
}

run "tags_on_every_resource" {
  command = apply

  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.tags["Project"] == "shiplane"]) && module.kms.key_tags["Project"] == "shiplane"
    error_message = "The tags variable must be applied to the module's resources."
  }
}

run "rejects_uppercase_repository_name" {
  command = plan

  variables {
    repository_names = ["Shiplane/Serving"]
  }

  expect_failures = [var.repository_names]
}

run "rejects_repository_name_with_leading_slash" {
  command = plan

  variables {
    repository_names = ["/shiplane/serving"]
  }

  expect_failures = [var.repository_names]
}

run "rejects_empty_repository_list" {
  command = plan

  variables {
    repository_names = []
  }

  expect_failures = [var.repository_names]
}

run "rejects_empty_name" {
  command = plan

  variables {
    name = ""
  }

  expect_failures = [var.name]
}

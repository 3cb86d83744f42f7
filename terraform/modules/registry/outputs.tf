output "registry_url" {
  description = "Host of the account's ECR registry, without a repository (chart value `image.registry`)."
  value       = "${local.account_id}.dkr.ecr.${local.region}.${data.aws_partition.current.dns_suffix}"
}

output "repository_urls" {
  description = "Full URL of each repository, keyed by repository name."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "repository_arns" {
  description = "ARN of each repository, keyed by repository name (for CI push policies)."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the images."
  value       = module.kms.key_arn
}

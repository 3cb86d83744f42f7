output "log_group_name" {
  description = "Name of the CloudWatch Logs group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the CloudWatch Logs group (without the \":*\" suffix)."
  value       = aws_cloudwatch_log_group.this.arn
}

output "log_group_retention_in_days" {
  description = "Days the log group keeps its events."
  value       = aws_cloudwatch_log_group.this.retention_in_days
}

output "log_group_tags" {
  description = "Tags set on the log group."
  value       = aws_cloudwatch_log_group.this.tags
}

output "key_arn" {
  description = "ARN of the KMS key encrypting the log group."
  value       = module.kms.key_arn
}

output "key_id" {
  description = "ID of the KMS key."
  value       = module.kms.key_id
}

output "alias_name" {
  description = "Name of the key's alias, with its \"alias/\" prefix."
  value       = module.kms.alias_name
}

output "key_policy" {
  description = "The key policy (JSON): account administration plus the statement for CloudWatch Logs on this log group."
  value       = module.kms.key_policy
}

output "key_rotation_enabled" {
  description = "Whether the key material rotates automatically (always true)."
  value       = module.kms.key_rotation_enabled
}

output "key_tags" {
  description = "Tags set on the key."
  value       = module.kms.key_tags
}

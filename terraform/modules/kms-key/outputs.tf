output "key_arn" {
  description = "ARN of the KMS key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "ID of the KMS key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "Name of the key's alias, with its \"alias/\" prefix."
  value       = aws_kms_alias.this.name
}

output "alias_arn" {
  description = "ARN of the key's alias."
  value       = aws_kms_alias.this.arn
}

output "key_policy" {
  description = "The key policy (JSON): account administration plus the service statements passed in."
  value       = aws_kms_key.this.policy
}

output "key_rotation_enabled" {
  description = "Whether the key material rotates automatically (always true: the module offers no way to turn it off)."
  value       = aws_kms_key.this.enable_key_rotation
}

output "key_tags" {
  description = "Tags set on the key."
  value       = aws_kms_key.this.tags
}

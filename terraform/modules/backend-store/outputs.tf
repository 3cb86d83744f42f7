output "db_instance_identifier" {
  description = "Identifier of the RDS instance."
  value       = aws_db_instance.this.identifier
}

output "db_instance_arn" {
  description = "ARN of the RDS instance."
  value       = aws_db_instance.this.arn
}

output "endpoint" {
  description = "DNS name of the database (host only, without the port)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port of the database."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Name of the MLflow database."
  value       = aws_db_instance.this.db_name
}

output "master_username" {
  description = "Master user name (also stored in the master-user secret)."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret RDS manages for the master user (JSON with `username` and `password`; rotated by RDS)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the database and its master-user secret; readers of the secret need kms:Decrypt on it."
  value       = module.kms.key_arn
}

output "security_group_id" {
  description = "ID of the database's security group."
  value       = aws_security_group.this.id
}

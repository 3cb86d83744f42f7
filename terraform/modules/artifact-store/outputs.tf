output "bucket_name" {
  description = "Name of the artifact bucket (chart value `mlflow.artifacts.s3Bucket`)."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the artifact bucket."
  value       = aws_s3_bucket.this.arn
}

output "artifact_prefix" {
  description = "Key prefix MLflow stores artifacts under; the policies below are scoped to it."
  value       = var.artifact_prefix
}

output "artifact_root_uri" {
  description = "S3 URI to pass to MLflow as the default artifact root."
  value       = "s3://${aws_s3_bucket.this.bucket}/${var.artifact_prefix}"
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the artifacts."
  value       = module.kms.key_arn
}

output "read_only_policy_json" {
  description = "IAM policy (JSON) to list and read artifacts under the prefix, e.g. for serving pods."
  value       = jsonencode(local.read_only_policy)
}

output "read_write_policy_json" {
  description = "IAM policy (JSON) to list, read, write and delete artifacts under the prefix, e.g. for the MLflow server and training Jobs."
  value       = jsonencode(local.read_write_policy)
}

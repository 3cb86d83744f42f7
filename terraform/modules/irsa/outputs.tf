output "role_arn" {
  description = "ARN of the role, for the service account annotation `eks.amazonaws.com/role-arn`."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the role."
  value       = aws_iam_role.this.name
}

output "service_account_subject" {
  description = "The only token subject the role trusts (system:serviceaccount:<namespace>:<name>)."
  value       = "system:serviceaccount:${var.namespace}:${var.service_account}"
}

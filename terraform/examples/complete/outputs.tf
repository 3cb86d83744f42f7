output "region" {
  description = "AWS region of the deployment."
  value       = var.region
}

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "HTTPS endpoint of the Kubernetes API."
  value       = module.eks.cluster_endpoint
}

output "configure_kubectl" {
  description = "Command that adds the cluster to your kubeconfig."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "artifact_bucket_name" {
  description = "MLflow artifact bucket (chart: mlflow.artifacts.s3Bucket)."
  value       = module.artifact_store.bucket_name
}

output "artifact_root_uri" {
  description = "S3 URI MLflow should use as its default artifact root; the IRSA policies are scoped to it."
  value       = module.artifact_store.artifact_root_uri
}

output "db_endpoint" {
  description = "Host name of the MLflow PostgreSQL database."
  value       = module.backend_store.endpoint
}

output "db_port" {
  description = "Port of the MLflow PostgreSQL database."
  value       = module.backend_store.port
}

output "db_name" {
  description = "Name of the MLflow database."
  value       = module.backend_store.db_name
}

output "db_master_user_secret_arn" {
  description = "Secrets Manager secret (managed and rotated by RDS) with the database user name and password; copy it into the Kubernetes Secret named by mlflow.backendStore.existingSecret."
  value       = module.backend_store.master_user_secret_arn
}

output "db_kms_key_arn" {
  description = "KMS key of the master-user secret: whatever reads the secret needs kms:Decrypt on it."
  value       = module.backend_store.kms_key_arn
}

output "irsa_role_arns" {
  description = "IRSA role ARN per component (chart: serviceAccounts.<component>.annotations.\"eks.amazonaws.com/role-arn\")."
  value       = { for component, role in module.irsa : component => role.role_arn }
}

output "registry_url" {
  description = "ECR registry host (chart: image.registry)."
  value       = module.registry.registry_url
}

output "repository_urls" {
  description = "Full URL of each ECR repository, keyed by repository name."
  value       = module.registry.repository_urls
}

output "helm_values" {
  description = "Values for `helm install` of the Shiplane chart, as YAML, using the chart's keys as of this writing (see docs/terraform.md)."
  value = yamlencode({
    image = { registry = module.registry.registry_url }
    mlflow = {
      enabled      = true
      backendStore = { existingSecret = var.mlflow_backend_store_secret_name }
      artifacts = {
        s3Bucket = module.artifact_store.bucket_name
        # The IRSA policies only cover this prefix: MLflow must write under it.
        s3Prefix = trimsuffix(module.artifact_store.artifact_prefix, "/")
      }
    }
    serviceAccounts = {
      for component, role in module.irsa : component => {
        annotations = { "eks.amazonaws.com/role-arn" = role.role_arn }
      }
    }
  })
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as \"eu-west-1\"."
  }
}

variable "name" {
  description = "Name of the deployment: prefix of every resource and name of the EKS cluster."
  type        = string
  default     = "shiplane"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be 2-20 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen (it prefixes S3, ECR and IAM names)."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC, /16 to /20. Each private subnet gets 1/16 of it (a /20 of a /16), each public subnet 1/256 at the top of the range."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition = (
      can(cidrnetmask(var.vpc_cidr))
      && try(cidrsubnet(var.vpc_cidr, 0, 0) == var.vpc_cidr, false)
      && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20, false)
    )
    error_message = "vpc_cidr must be a canonical IPv4 network address with a prefix length from /16 to /20, e.g. 10.0.0.0/16."
  }
}

variable "azs" {
  description = "Availability zones to use, by name, in the region (2 or 3). Pinned rather than discovered, so the subnets never move when AWS adds a zone."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]

  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 3 && length(distinct(var.azs)) == length(var.azs)
    error_message = "azs must list 2 or 3 distinct availability zones."
  }

  validation {
    condition     = alltrue([for az in var.azs : startswith(az, var.region)])
    error_message = "Every entry of azs must be a zone of var.region (e.g. eu-west-1a for eu-west-1)."
  }
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (cheaper, for non-production) instead of one per availability zone."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the cluster."
  type        = string
  default     = "1.33"
}

variable "cluster_endpoint_public_access" {
  description = "Also expose the Kubernetes API publicly, restricted to cluster_endpoint_public_access_cidrs."
  type        = bool
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public Kubernetes API endpoint (e.g. your office or VPN egress /32)."
  type        = list(string)
  default     = []
}

variable "node_group" {
  description = "Managed node group settings; see the eks module's node_group variable for the attributes and defaults."
  type = object({
    name           = optional(string, "default")
    instance_types = optional(list(string), ["m6i.large"])
    capacity_type  = optional(string, "ON_DEMAND")
    min_size       = optional(number, 2)
    max_size       = optional(number, 4)
    desired_size   = optional(number, 2)
    disk_size_gib  = optional(number, 50)
    labels         = optional(map(string), {})
  })
  default = {}
}

variable "kubernetes_namespace" {
  description = "Namespace the Shiplane chart is installed into; the IRSA roles trust service accounts of this namespace only."
  type        = string
  default     = "shiplane"
}

variable "service_account_names" {
  description = "Names of the service accounts the chart creates for each component. Each IRSA role trusts exactly one of them, so they must match what the chart renders."
  type = object({
    mlflow   = optional(string, "shiplane-mlflow")
    training = optional(string, "shiplane-training")
    serving  = optional(string, "shiplane-serving")
  })
  default = {}
}

variable "artifact_bucket_name" {
  description = "Name of the MLflow artifact bucket. null derives a globally unique one: <name>-mlflow-artifacts-<account id>."
  type        = string
  default     = null
}

variable "db_instance_class" {
  description = "RDS instance class of the MLflow backend store."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_multi_az" {
  description = "Run the MLflow database with a standby in a second availability zone."
  type        = bool
  default     = true
}

variable "db_deletion_protection" {
  description = "Protect the MLflow database from deletion. Set false and apply before `terraform destroy`."
  type        = bool
  default     = true
}

variable "image_repositories" {
  description = "ECR repositories for the Shiplane images. The defaults are the chart's servingRuntime/training/router `image.repository` values, so `image.registry` alone points the chart at ECR."
  type        = list(string)
  default     = ["shiplane/shiplane-serving", "shiplane/shiplane-training", "shiplane/shiplane-router"]
}

variable "mlflow_backend_store_secret_name" {
  description = "Name of the Kubernetes Secret holding the backend store URI (postgresql://...), written into the helm_values output as mlflow.backendStore.existingSecret. Terraform does not create it (see docs/terraform.md)."
  type        = string
  default     = "shiplane-mlflow-backend-store"
}

variable "tags" {
  description = "Extra tags for every resource, merged into the provider's default_tags."
  type        = map(string)
  default     = {}
}

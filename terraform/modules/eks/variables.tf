variable "name" {
  description = "Name of the EKS cluster, also the prefix of its IAM roles, KMS alias and node group."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name))
    error_message = "name must be 2-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and the node group, e.g. \"1.33\"."
  type        = string
  default     = "1.33"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must be a Kubernetes minor version such as \"1.33\"."
  }
}

variable "subnet_ids" {
  description = "Private subnet IDs for the control-plane network interfaces and the node group, in at least two availability zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must hold at least two subnets (EKS requires two availability zones)."
  }
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API on a public endpoint as well as the private one. Off by default: reach the API from inside the VPC (VPN, bastion, CI runner)."
  type        = bool
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the public endpoint. Required when endpoint_public_access is true; 0.0.0.0/0 is refused."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.endpoint_public_access_cidrs : can(cidrnetmask(c)) && try(cidrsubnet(c, 0, 0) == c, false)])
    error_message = "Every entry of endpoint_public_access_cidrs must be a canonical IPv4 CIDR block, e.g. 203.0.113.7/32."
  }

  validation {
    condition     = !contains(var.endpoint_public_access_cidrs, "0.0.0.0/0")
    error_message = "endpoint_public_access_cidrs must not contain 0.0.0.0/0: list the networks that need the API."
  }

  validation {
    condition     = !var.endpoint_public_access || length(var.endpoint_public_access_cidrs) > 0
    error_message = "endpoint_public_access is true, so endpoint_public_access_cidrs must list at least one CIDR block."
  }
}

variable "cluster_log_types" {
  description = "Control-plane log types sent to CloudWatch Logs."
  type        = list(string)
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  validation {
    condition     = alltrue([for t in var.cluster_log_types : contains(["api", "audit", "authenticator", "controllerManager", "scheduler"], t)])
    error_message = "cluster_log_types may only contain api, audit, authenticator, controllerManager and scheduler."
  }
}

variable "log_retention_in_days" {
  description = "Days to keep control-plane logs in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "cluster_creator_admin" {
  description = "Give the IAM identity that creates the cluster a cluster-admin access entry. Changing it replaces the cluster."
  type        = bool
  default     = true
}

variable "node_group" {
  description = <<-EOT
    The managed node group, placed in subnet_ids:
    name: suffix of the node group name; instance_types: EC2 types, first is preferred;
    capacity_type: ON_DEMAND or SPOT; min_size/max_size/desired_size: node counts
    (desired_size is only the initial size, an autoscaler may change it);
    disk_size_gib: encrypted root volume size; labels: Kubernetes node labels.
  EOT
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

  validation {
    condition     = var.node_group.min_size >= 0 && var.node_group.max_size >= 1
    error_message = "node_group.min_size must be >= 0 and node_group.max_size must be >= 1."
  }

  validation {
    condition     = var.node_group.min_size <= var.node_group.max_size
    error_message = "node_group.min_size must not be greater than node_group.max_size."
  }

  validation {
    condition     = var.node_group.desired_size >= var.node_group.min_size && var.node_group.desired_size <= var.node_group.max_size
    error_message = "node_group.desired_size must lie within [node_group.min_size, node_group.max_size]."
  }

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_group.capacity_type)
    error_message = "node_group.capacity_type must be ON_DEMAND or SPOT."
  }

  validation {
    condition     = length(var.node_group.instance_types) > 0 && var.node_group.disk_size_gib >= 20
    error_message = "node_group needs at least one instance type and a root volume of at least 20 GiB."
  }

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,30}$", var.node_group.name))
    error_message = "node_group.name must be 1-31 characters of lowercase letters, digits and hyphens."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module, on top of the provider's default_tags. Also propagated to the nodes' instances and volumes."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name of the IAM role."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters valid in an IAM role name (letters, digits and +=,.@_-)."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (output `oidc_provider_arn` of the eks module)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN, e.g. arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the service account allowed to assume the role."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a valid Kubernetes namespace name (RFC 1123 label, at most 63 characters)."
  }
}

variable "service_account" {
  description = "Name of the only Kubernetes service account allowed to assume the role. Wildcards are refused on purpose."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.service_account))
    error_message = "service_account must be a valid Kubernetes service account name (RFC 1123 subdomain, no wildcards)."
  }
}

variable "inline_policies" {
  description = "IAM policy documents (JSON) embedded in the role, keyed by a static policy name. Values may be unknown until apply."
  type        = map(string)
  default     = {}
}

variable "policy_arns" {
  description = "Managed IAM policies attached to the role, keyed by a static label."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary_arn" {
  description = "ARN of a permissions boundary for the role, if your organisation requires one."
  type        = string
  default     = null
}

variable "max_session_duration" {
  description = "Maximum session duration in seconds (3600-43200)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "tags" {
  description = "Tags added to the role, on top of the provider's default_tags."
  type        = map(string)
  default     = {}
}

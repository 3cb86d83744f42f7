variable "bucket_name" {
  description = "Globally unique name of the S3 bucket holding MLflow artifacts (models, metrics files, plots)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens, and start and end with a letter or digit."
  }

  validation {
    condition     = !strcontains(var.bucket_name, "..") && !can(regex("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$", var.bucket_name))
    error_message = "bucket_name must not contain \"..\" nor be formatted like an IP address."
  }

  validation {
    condition     = !anytrue([for p in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(var.bucket_name, p)]) && !anytrue([for s in ["-s3alias", "--ol-s3", ".mrap", "--x-s3"] : endswith(var.bucket_name, s)])
    error_message = "bucket_name must not use a prefix (xn--, sthree-, amzn-s3-demo-) or suffix (-s3alias, --ol-s3, .mrap, --x-s3) that S3 reserves."
  }
}

variable "artifact_prefix" {
  description = "Key prefix under which MLflow stores artifacts; the IAM policies this module outputs are scoped to it. Must end with \"/\"."
  type        = string
  default     = "mlflow/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9!_.*'()-]+(/[a-zA-Z0-9!_.*'()-]+)*/$", var.artifact_prefix))
    error_message = "artifact_prefix must be a relative key prefix ending with \"/\" (e.g. \"mlflow/\"), without a leading \"/\" or empty path segments."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed for good. Versioning protects against accidental deletes for this long."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "access_log_bucket" {
  description = "Name of an existing bucket receiving S3 server access logs for this bucket, usually the account's central log bucket. null disables access logging."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete the bucket while it still holds artifacts. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module, on top of the provider's default_tags."
  type        = map(string)
  default     = {}
}

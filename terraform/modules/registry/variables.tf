variable "name" {
  description = "Name of the registry set, used for its KMS key alias (e.g. \"shiplane\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name))
    error_message = "name must be 2-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "repository_names" {
  description = "ECR repositories to create, e.g. [\"shiplane/serving\", \"shiplane/training\", \"shiplane/router\"]."
  type        = list(string)

  validation {
    condition     = length(var.repository_names) > 0 && length(distinct(var.repository_names)) == length(var.repository_names)
    error_message = "repository_names must list at least one repository, without duplicates."
  }

  validation {
    condition = alltrue([
      for n in var.repository_names :
      length(n) >= 2 && length(n) <= 256 && can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", n))
    ])
    error_message = "Every repository name must be 2-256 characters of lowercase letters and digits, optionally separated by single \".\", \"_\" or \"-\", with \"/\" between path segments (e.g. \"shiplane/serving\")."
  }
}

variable "untagged_image_expiration_days" {
  description = "Days after which untagged images (left over by failed or superseded pushes) are deleted. Tagged images are never expired."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_image_expiration_days >= 1
    error_message = "untagged_image_expiration_days must be at least 1."
  }
}

variable "force_delete" {
  description = "Allow `terraform destroy` to delete repositories that still hold images. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module, on top of the provider's default_tags."
  type        = map(string)
  default     = {}
}

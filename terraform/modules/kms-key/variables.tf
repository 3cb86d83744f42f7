variable "description" {
  description = "Description of the KMS key: what it encrypts."
  type        = string

  validation {
    condition     = length(var.description) > 0 && length(var.description) <= 8192
    error_message = "description must be 1 to 8192 characters long."
  }
}

variable "alias_name" {
  description = "Alias of the key, without the \"alias/\" prefix (e.g. \"shiplane-eks\")."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.alias_name)) && !startswith(var.alias_name, "aws/")
    error_message = "alias_name may only hold letters, digits, '/', '_' and '-' (no dots), at most 250 of them, and must not start with \"aws/\" (reserved for AWS managed keys)."
  }
}

variable "deletion_window_in_days" {
  description = "Days between scheduling the key's deletion and the deletion itself (7 to 30): the window in which a mistaken deletion can still be cancelled."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "service_statements" {
  description = "Key-policy statements for AWS services that use the key as themselves (e.g. CloudWatch Logs), each for one service principal, limited to the given actions and, always, to the given condition (operator => condition key => value). Account administration is always in the policy and needs no entry here."
  type = list(object({
    sid       = string
    service   = string
    actions   = list(string)
    condition = map(map(string))
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.service_statements : length(s.condition) > 0])
    error_message = "Every service statement needs a non-empty condition scoping it to the one resource (or account) that uses the key."
  }

  validation {
    condition     = alltrue([for s in var.service_statements : length(s.actions) > 0]) && length(setintersection(toset(flatten([for s in var.service_statements : s.actions])), toset(["*", "kms:*"]))) == 0
    error_message = "Every service statement needs at least one action, and neither \"*\" nor \"kms:*\": full control stays with account administration."
  }

  validation {
    condition     = alltrue([for s in var.service_statements : endswith(s.service, ".amazonaws.com")])
    error_message = "Every service statement must name an AWS service principal (*.amazonaws.com)."
  }

  validation {
    condition     = length(distinct([for s in var.service_statements : s.sid])) == length(var.service_statements) && alltrue([for s in var.service_statements : can(regex("^[A-Za-z0-9]+$", s.sid)) && s.sid != "AccountAdministration"])
    error_message = "Statement IDs (sid) must be alphanumeric, unique and not \"AccountAdministration\", which the module uses itself."
  }
}

variable "tags" {
  description = "Tags of the key."
  type        = map(string)
  default     = {}
}

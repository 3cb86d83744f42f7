variable "name" {
  description = "Name of the CloudWatch Logs group, e.g. \"/aws/vpc/shiplane/flow-logs\". The key's CloudWatch Logs statement is scoped to exactly this name."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_/.#-]{1,512}$", var.name))
    error_message = "name must be 1 to 512 characters, each a letter, digit, '_', '-', '/', '.' or '#'."
  }
}

variable "retention_in_days" {
  description = "Days to keep the log events."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.retention_in_days)
    error_message = "retention_in_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "key_description" {
  description = "Description of the KMS key encrypting the log group: what it encrypts (the caller may use the key for more than the logs). Validated by modules/kms-key."
  type        = string
}

variable "key_alias_name" {
  description = "Alias of the key, without the \"alias/\" prefix (e.g. \"shiplane-flow-logs\"); also the key's Name tag. Validated by modules/kms-key."
  type        = string
}

variable "key_statement_sid" {
  description = "Statement ID of the key-policy statement for CloudWatch Logs. Only worth setting to keep the policy of a key created under another Sid unchanged."
  type        = string
  default     = "CloudWatchLogsForThisLogGroupOnly"
}

variable "tags" {
  description = "Tags of the log group and the key (the key also gets Name = key_alias_name)."
  type        = map(string)
  default     = {}
}

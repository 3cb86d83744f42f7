variable "identifier" {
  description = "Identifier of the RDS instance, also the prefix of its subnet group, security group, parameter group, KMS alias and monitoring role."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,47}[a-z0-9]$", var.identifier)) && !strcontains(var.identifier, "--")
    error_message = "identifier must be 2-49 characters of lowercase letters, digits and hyphens, start with a letter, not end with a hyphen and not contain \"--\"."
  }
}

variable "engine_version" {
  description = "PostgreSQL version: a major (\"17\", minor upgrades then follow automatically) or a major.minor (\"17.5\")."
  type        = string
  default     = "17"

  validation {
    condition     = can(regex("^[0-9]{2}(\\.[0-9]+)?$", var.engine_version)) && try(tonumber(split(".", var.engine_version)[0]) >= 13, false)
    error_message = "engine_version must be a PostgreSQL version of 13 or later, such as \"17\" or \"17.5\"."
  }
}

variable "instance_class" {
  description = "RDS instance class. MLflow's tracking load is light; scale up for many concurrent runs."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS instance class such as \"db.t4g.medium\"."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB (gp3)."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536
    error_message = "allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Upper bound in GiB for storage autoscaling; equal to allocated_storage turns autoscaling off."
  type        = number
  default     = 100

  validation {
    condition     = var.max_allocated_storage >= var.allocated_storage && var.max_allocated_storage <= 65536
    error_message = "max_allocated_storage must be at least allocated_storage and at most 65536 GiB."
  }
}

variable "db_name" {
  description = "Name of the database created for MLflow."
  type        = string
  default     = "mlflow"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a letter and hold at most 63 letters, digits and underscores."
  }
}

variable "master_username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager, never seen by Terraform."
  type        = string
  default     = "mlflow"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.master_username)) && !contains(["postgres", "rdsadmin", "admin"], lower(var.master_username))
    error_message = "master_username must start with a letter, hold at most 63 letters, digits and underscores, and not be a reserved name (postgres, rdsadmin, admin)."
  }
}

variable "vpc_id" {
  description = "ID of the VPC of the database's security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnet IDs for the DB subnet group, in at least two availability zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must hold at least two subnets in different availability zones."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on the PostgreSQL port, keyed by a static label (e.g. { eks_nodes = \"sg-...\" }) so IDs unknown until apply are fine."
  type        = map(string)
  default     = {}
}

variable "allowed_cidr_blocks" {
  description = "IPv4 CIDR blocks allowed to connect on the PostgreSQL port. Prefer allowed_security_group_ids."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : can(cidrnetmask(c)) && try(cidrsubnet(c, 0, 0) == c, false) && c != "0.0.0.0/0"])
    error_message = "Every entry of allowed_cidr_blocks must be a canonical IPv4 CIDR block other than 0.0.0.0/0."
  }
}

variable "multi_az" {
  description = "Keep a synchronous standby in another availability zone for automatic failover."
  type        = bool
  default     = true
}

variable "backup_retention_period" {
  description = "Days to keep automated backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_period >= 1 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 1 and 35 days."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance. Turn off (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}

variable "monitoring_interval" {
  description = "Seconds between Enhanced Monitoring samples; 0 disables Enhanced Monitoring."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30 or 60."
  }
}

variable "log_min_duration_statement_ms" {
  description = "Log statements slower than this many milliseconds (PostgreSQL log_min_duration_statement); -1 turns it off."
  type        = number
  default     = 1000

  validation {
    condition     = var.log_min_duration_statement_ms >= -1
    error_message = "log_min_duration_statement_ms must be -1 (off) or a duration in milliseconds."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module, on top of the provider's default_tags."
  type        = map(string)
  default     = {}
}

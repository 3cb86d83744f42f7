variable "name" {
  description = "Name of the VPC, used as the Name tag and as a prefix for every resource of the module."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name))
    error_message = "name must be 2-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC, between /16 and /24, e.g. 10.0.0.0/16."
  type        = string

  validation {
    condition = (
      can(cidrnetmask(var.cidr))
      && try(cidrsubnet(var.cidr, 0, 0) == var.cidr, false)
      && try(tonumber(split("/", var.cidr)[1]) >= 16 && tonumber(split("/", var.cidr)[1]) <= 24, false)
    )
    error_message = "cidr must be a canonical IPv4 network address (host bits zero) with a prefix length from /16 to /24, e.g. 10.0.0.0/16."
  }
}

variable "azs" {
  description = "Availability zones to spread the subnets over. EKS needs at least two."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(distinct(var.azs)) == length(var.azs)
    error_message = "azs must list at least two distinct availability zones (EKS requires subnets in two or more AZs)."
  }
}

variable "private_subnets" {
  description = "IPv4 CIDR blocks of the private subnets (EKS nodes, RDS), one per entry of azs, in the same order."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.private_subnets : can(cidrnetmask(c)) && try(cidrsubnet(c, 0, 0) == c, false)])
    error_message = "Every entry of private_subnets must be a canonical IPv4 CIDR block, e.g. 10.0.0.0/20."
  }

  validation {
    condition     = length(var.private_subnets) == length(var.azs)
    error_message = "private_subnets must have exactly one CIDR block per availability zone in azs."
  }
}

variable "public_subnets" {
  description = "IPv4 CIDR blocks of the public subnets (NAT gateways, internet-facing load balancers), one per entry of azs, in the same order."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.public_subnets : can(cidrnetmask(c)) && try(cidrsubnet(c, 0, 0) == c, false)])
    error_message = "Every entry of public_subnets must be a canonical IPv4 CIDR block, e.g. 10.0.240.0/24."
  }

  validation {
    condition     = length(var.public_subnets) == length(var.azs)
    error_message = "public_subnets must have exactly one CIDR block per availability zone in azs."
  }
}

variable "single_nat_gateway" {
  description = "Use one NAT gateway for all private subnets (cheaper) instead of one per availability zone (survives the loss of an AZ)."
  type        = bool
  default     = false
}

variable "flow_log_retention_in_days" {
  description = "Days to keep VPC flow logs in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_in_days)
    error_message = "flow_log_retention_in_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module, on top of the provider's default_tags."
  type        = map(string)
  default     = {}
}

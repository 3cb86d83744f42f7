mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  # The provider validates ARN-typed arguments, so the ARNs that feed other
  # resources need a realistic shape instead of the mock's random strings.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vpc/shiplane/flow-logs" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/shiplane-vpc-flow-logs" }
  }
}

variables {
  name            = "shiplane"
  cidr            = "10.0.0.0/16"
  azs             = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  private_subnets = ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
  public_subnets  = ["10.0.240.0/24", "10.0.241.0/24", "10.0.242.0/24"]
  tags            = { Project = "shiplane" }
}

run "private_and_public_subnets_per_az" {
  command = apply

  assert {
    condition     = aws_vpc.this.cidr_block == "10.0.0.0/16" && aws_vpc.this.enable_dns_hostnames
    error_message = "The VPC must use the given CIDR and have DNS hostnames on (EKS nodes need them)."
  }

  assert {
    condition     = length(aws_subnet.private) == 3 && length(aws_subnet.public) == 3
    error_message = "There must be one private and one public subnet per availability zone."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.public : s.map_public_ip_on_launch == false])
    error_message = "Public subnets must not hand out public IPs on launch."
  }

  assert {
    condition = (
      alltrue([for s in aws_subnet.private : s.tags["kubernetes.io/role/internal-elb"] == "1"])
      && alltrue([for s in aws_subnet.public : s.tags["kubernetes.io/role/elb"] == "1"])
    )
    error_message = "Subnets must carry the role tags the AWS load balancer controller discovers them by."
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && length(aws_route_table.private) == 3
    error_message = "By default each availability zone gets its own NAT gateway and private route table."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.private : s.availability_zone != null]) && aws_subnet.private[1].availability_zone == "eu-west-1b"
    error_message = "Private subnets must follow the order of azs."
  }
}

run "private_egress_goes_through_nat_only" {
  command = apply

  assert {
    condition     = alltrue([for r in aws_route.private_nat : r.destination_cidr_block == "0.0.0.0/0" && r.nat_gateway_id != null && r.gateway_id == null])
    error_message = "Private route tables must send egress to a NAT gateway, never straight to the internet gateway."
  }
}

run "single_nat_gateway" {
  command = apply

  variables {
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route_table.private) == 1 && length(aws_route_table_association.private) == 3
    error_message = "single_nat_gateway must create one NAT gateway shared by all private subnets."
  }
}

run "default_security_group_has_no_rules" {
  command = apply

  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "The default security group must allow nothing."
  }
}

run "flow_logs_encrypted_and_retained" {
  command = apply

  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL" && module.flow_logs.log_group_retention_in_days == 365
    error_message = "All VPC traffic must be logged and kept for a year by default."
  }

  assert {
    condition     = aws_flow_log.this.log_destination == module.flow_logs.log_group_arn && module.flow_logs.key_rotation_enabled
    error_message = "Flow logs must go to the module's encrypted log group, whose KMS key must rotate."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(module.flow_logs.key_policy).Statement :
      try(s.Principal.Service, "") == "logs.eu-west-1.amazonaws.com"
      && try(s.Condition.ArnEquals["kms:EncryptionContext:aws:logs:arn"], "") == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vpc/shiplane/flow-logs"
    ])
    error_message = "CloudWatch Logs may use the key for the flow-log group only."
  }

  assert {
    condition     = jsondecode(aws_iam_role.flow_logs.assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    error_message = "The flow-logs role must only be assumable on behalf of this account."
  }
}

run "tags_on_every_resource" {
  command = apply

  assert {
    condition = alltrue([
      aws_vpc.this.tags["Project"] == "shiplane",
      aws_vpc.this.tags["Name"] == "shiplane",
      alltrue([for s in concat(aws_subnet.private, aws_subnet.public) : s.tags["Project"] == "shiplane"]),
      alltrue([for n in aws_nat_gateway.this : n.tags["Project"] == "shiplane"]),
      module.flow_logs.key_tags["Project"] == "shiplane",
      module.flow_logs.log_group_tags["Project"] == "shiplane",
      aws_flow_log.this.tags["Project"] == "shiplane",
    ])
    error_message = "The tags variable must be applied to the module's resources."
  }
}

run "rejects_invalid_cidr" {
  command = plan

  variables {
    cidr = "10.0.0.300/16"
  }

  expect_failures = [var.cidr]
}

run "rejects_non_canonical_cidr" {
  command = plan

  variables {
    cidr = "10.0.0.1/16"
  }

  expect_failures = [var.cidr]
}

run "rejects_invalid_subnet_cidr" {
  command = plan

  variables {
    private_subnets = ["10.0.0.0/20", "not-a-cidr", "10.0.32.0/20"]
  }

  expect_failures = [var.private_subnets]
}

run "rejects_subnet_count_not_matching_azs" {
  command = plan

  variables {
    public_subnets = ["10.0.240.0/24"]
  }

  expect_failures = [var.public_subnets]
}

run "rejects_single_az" {
  command = plan

  variables {
    azs             = ["eu-west-1a"]
    private_subnets = ["10.0.0.0/20"]
    public_subnets  = ["10.0.240.0/24"]
  }

  expect_failures = [var.azs]
}

run "rejects_empty_name" {
  command = plan

  variables {
    name = ""
  }

  expect_failures = [var.name]
}

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
  # ARN-typed arguments are validated by the provider even under a mock.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/shiplane-eks" }
  }
  mock_resource "aws_eks_cluster" {
    defaults = {
      identity              = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }] }]
      certificate_authority = [{ data = "LS0tLS1CRUdJTi1DRVJUSUZJQ0FURS0tLS0t" }]
    }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
}

variables {
  name       = "shiplane"
  subnet_ids = ["subnet-0a", "subnet-0b", "subnet-0c"]
  tags       = { Project = "shiplane" }
}

run "private_endpoint_by_default" {
  command = apply

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_private_access && !aws_eks_cluster.this.vpc_config[0].endpoint_public_access
    error_message = "The API endpoint must be private-only by default."
  }

  assert {
    condition     = aws_eks_cluster.this.name == "shiplane" && aws_eks_cluster.this.version == "1.33"
    error_message = "The cluster must be named after var.name and run the default version."
  }

  assert {
    condition     = aws_eks_cluster.this.access_config[0].authentication_mode == "API"
    error_message = "Cluster access must go through EKS access entries."
  }
}

run "public_endpoint_is_allowlisted" {
  command = apply

  variables {
    endpoint_public_access       = true
    endpoint_public_access_cidrs = ["203.0.113.7/32"]
  }

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_public_access && toset(aws_eks_cluster.this.vpc_config[0].public_access_cidrs) == toset(["203.0.113.7/32"])
    error_message = "A public endpoint must be limited to the given CIDR allowlist."
  }

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_private_access
    error_message = "The private endpoint must stay on when the public one is enabled."
  }
}

run "secrets_encrypted_and_control_plane_logged" {
  command = apply

  assert {
    condition = (
      one(aws_eks_cluster.this.encryption_config).resources == toset(["secrets"])
      && one(aws_eks_cluster.this.encryption_config).provider[0].key_arn == module.cluster_logs.key_arn
    )
    error_message = "Kubernetes Secrets must be envelope-encrypted with the module's KMS key."
  }

  assert {
    condition     = module.cluster_logs.key_rotation_enabled
    error_message = "The cluster KMS key must rotate."
  }

  assert {
    condition     = toset(aws_eks_cluster.this.enabled_cluster_log_types) == toset(["api", "audit", "authenticator", "controllerManager", "scheduler"])
    error_message = "Every control-plane log type must be enabled by default."
  }

  assert {
    condition = (
      module.cluster_logs.log_group_name == "/aws/eks/shiplane/cluster"
      && module.cluster_logs.log_group_retention_in_days == 365
    )
    error_message = "The control-plane log group must be the one EKS writes to, encrypted and retained."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(module.cluster_logs.key_policy).Statement :
      try(s.Principal.Service, "") == "logs.eu-west-1.amazonaws.com"
      && try(s.Condition.ArnEquals["kms:EncryptionContext:aws:logs:arn"], "") == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/eks/shiplane/cluster"
    ])
    error_message = "CloudWatch Logs may use the key for the cluster's log group only."
  }
}

run "node_group_private_and_hardened" {
  command = apply

  assert {
    condition     = toset(aws_eks_node_group.this.subnet_ids) == toset(["subnet-0a", "subnet-0b", "subnet-0c"])
    error_message = "Nodes must run in the given private subnets."
  }

  assert {
    condition = (
      aws_eks_node_group.this.scaling_config[0].min_size == 2
      && aws_eks_node_group.this.scaling_config[0].max_size == 4
      && aws_eks_node_group.this.scaling_config[0].desired_size == 2
    )
    error_message = "The node group must use the default scaling bounds."
  }

  assert {
    condition = (
      aws_launch_template.node.metadata_options[0].http_tokens == "required"
      && aws_launch_template.node.metadata_options[0].http_put_response_hop_limit == 1
    )
    error_message = "Nodes must require IMDSv2 with a hop limit of 1, so pods cannot use the node role."
  }

  assert {
    condition     = aws_launch_template.node.block_device_mappings[0].ebs[0].encrypted == "true"
    error_message = "Node root volumes must be encrypted."
  }

  assert {
    condition     = length(aws_eks_node_group.this.remote_access) == 0
    error_message = "Nodes must not open SSH."
  }
}

run "oidc_provider_for_irsa" {
  command = apply

  assert {
    condition = (
      aws_iam_openid_connect_provider.this.url == aws_eks_cluster.this.identity[0].oidc[0].issuer
      && toset(aws_iam_openid_connect_provider.this.client_id_list) == toset(["sts.amazonaws.com"])
    )
    error_message = "The OIDC provider must trust the cluster's issuer for the STS audience."
  }
}

run "tags_on_every_resource" {
  command = apply

  assert {
    condition = alltrue([
      aws_eks_cluster.this.tags["Project"] == "shiplane",
      aws_eks_node_group.this.tags["Project"] == "shiplane",
      module.cluster_logs.key_tags["Project"] == "shiplane",
      module.cluster_logs.log_group_tags["Project"] == "shiplane",
      aws_iam_role.cluster.tags["Project"] == "shiplane",
      aws_iam_role.node.tags["Project"] == "shiplane",
      aws_iam_openid_connect_provider.this.tags["Project"] == "shiplane",
      alltrue([for t in aws_launch_template.node.tag_specifications : t.tags["Project"] == "shiplane"]),
    ])
    error_message = "The tags variable must reach every resource, including the nodes' instances and volumes."
  }
}

run "rejects_min_greater_than_max" {
  command = plan

  variables {
    node_group = { min_size = 5, max_size = 3, desired_size = 4 }
  }

  expect_failures = [var.node_group]
}

run "rejects_desired_below_min" {
  command = plan

  variables {
    node_group = { min_size = 2, max_size = 4, desired_size = 1 }
  }

  expect_failures = [var.node_group]
}

run "rejects_desired_above_max" {
  command = plan

  variables {
    node_group = { min_size = 1, max_size = 3, desired_size = 5 }
  }

  expect_failures = [var.node_group]
}

run "rejects_public_endpoint_without_allowlist" {
  command = plan

  variables {
    endpoint_public_access = true
  }

  expect_failures = [var.endpoint_public_access_cidrs]
}

run "rejects_world_open_endpoint" {
  command = plan

  variables {
    endpoint_public_access       = true
    endpoint_public_access_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.endpoint_public_access_cidrs]
}

run "rejects_empty_name" {
  command = plan

  variables {
    name = ""
  }

  expect_failures = [var.name]
}

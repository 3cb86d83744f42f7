data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
}

################################################################################
# KMS: envelope encryption of Kubernetes Secrets and of the control-plane logs
################################################################################

# EKS writes control-plane logs to this fixed name; creating the group ourselves
# lets us set retention and encryption before the cluster first logs. Its key
# also encrypts Secrets: account administration (in kms-key) lets IAM policies,
# the cluster role's below, grant use of the key; CloudWatch Logs gets this log
# group only.
module "cluster_logs" {
  source = "../encrypted-log-group"

  name              = "/aws/eks/${var.name}/cluster"
  retention_in_days = var.log_retention_in_days
  key_description   = "${var.name} EKS Secrets and control-plane logs"
  key_alias_name    = "${var.name}-eks"
  # The Sid the key policy of existing clusters already has.
  key_statement_sid = "CloudWatchLogsForThisClusterOnly"
  tags              = var.tags
}

# Keeps the key of existing deployments: a new key would force a new cluster
# (the Secrets encryption key cannot change). The key was first a resource of
# this module, then of module.kms here, now of module.cluster_logs: the first
# two blocks take the oldest state into module.kms, the third moves module.kms
# (key and alias) on to its current place.
moved {
  from = aws_kms_key.cluster
  to   = module.kms.aws_kms_key.this
}

moved {
  from = aws_kms_alias.cluster
  to   = module.kms.aws_kms_alias.this
}

moved {
  from = module.kms
  to   = module.cluster_logs.module.kms
}

# Keeps the log group, and the logs already in it.
moved {
  from = aws_cloudwatch_log_group.cluster
  to   = module.cluster_logs.aws_cloudwatch_log_group.this
}

################################################################################
# Control plane
################################################################################

resource "aws_iam_role" "cluster" {
  name = "${var.name}-eks-cluster"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

# The control plane encrypts Secrets with the key as this role.
resource "aws_iam_role_policy" "cluster_encryption" {
  name = "secrets-encryption"
  role = aws_iam_role.cluster.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
      Resource = module.cluster_logs.key_arn
    }]
  })
}

resource "aws_eks_cluster" "this" {
  name     = var.name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = var.endpoint_public_access
    # Left unset when the endpoint is private, so AWS does not record its 0.0.0.0/0 default as our intent.
    public_access_cidrs = var.endpoint_public_access ? var.endpoint_public_access_cidrs : null
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = module.cluster_logs.key_arn
    }
  }

  enabled_cluster_log_types = var.cluster_log_types

  # Access entries (the EKS API) instead of the aws-auth ConfigMap: access is
  # managed through IAM-audited API calls, not a YAML file in the cluster.
  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = var.cluster_creator_admin
  }

  tags = var.tags

  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_iam_role_policy.cluster_encryption,
    module.cluster_logs,
  ]
}

# IRSA: lets IAM trust tokens that this cluster issues to service accounts.
# No thumbprint_list: IAM verifies EKS issuers against its own trusted CAs.
resource "aws_iam_openid_connect_provider" "this" {
  url            = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]

  tags = merge(var.tags, { Name = "${var.name}-irsa" })
}

################################################################################
# Managed node group
################################################################################

resource "aws_iam_role" "node" {
  name = "${var.name}-eks-node"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
  ])

  role       = aws_iam_role.node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_launch_template" "node" {
  name_prefix            = "${var.name}-${var.node_group.name}-"
  description            = "EKS managed node group ${var.name}-${var.node_group.name}"
  update_default_version = true

  # IMDSv2 only, and a hop limit of 1 so pods cannot reach the node's
  # credentials: workloads get AWS access through IRSA and nothing else.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.node_group.disk_size_gib
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  # default_tags do not reach instances the node group launches: tag them here.
  dynamic "tag_specifications" {
    for_each = toset(["instance", "volume", "network-interface"])
    content {
      resource_type = tag_specifications.value
      tags          = merge(var.tags, { Name = "${var.name}-${var.node_group.name}" })
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_eks_node_group" "this" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "${var.name}-${var.node_group.name}"
  version         = aws_eks_cluster.this.version
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.subnet_ids

  ami_type       = "AL2023_x86_64_STANDARD"
  capacity_type  = var.node_group.capacity_type
  instance_types = var.node_group.instance_types
  labels         = var.node_group.labels

  scaling_config {
    min_size     = var.node_group.min_size
    max_size     = var.node_group.max_size
    desired_size = var.node_group.desired_size
  }

  update_config {
    max_unavailable_percentage = 33
  }

  launch_template {
    id      = aws_launch_template.node.id
    version = aws_launch_template.node.latest_version
  }

  tags = var.tags

  # An autoscaler owns the node count once the group exists.
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Project    = "shiplane"
        Deployment = var.name
        ManagedBy  = "terraform"
      },
      var.tags,
    )
  }
}

data "aws_caller_identity" "current" {}

# Only confirms the pinned zones exist and are usable; it never picks zones.
data "aws_availability_zones" "pinned" {
  state = "available"

  filter {
    name   = "zone-name"
    values = var.azs
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) == length(var.azs)
      error_message = "Some of ${join(", ", var.azs)} are not available availability zones of ${var.region}."
    }
  }
}

locals {
  # /16 -> private /20s at the bottom, public /24s at the top (10.0.240.0/24...):
  # pods take their IPs from the private subnets, so those get the room.
  private_subnets = [for i in range(length(var.azs)) : cidrsubnet(var.vpc_cidr, 4, i)]
  public_subnets  = [for i in range(length(var.azs)) : cidrsubnet(var.vpc_cidr, 8, 240 + i)]

  artifact_bucket_name = coalesce(var.artifact_bucket_name, "${var.name}-mlflow-artifacts-${data.aws_caller_identity.current.account_id}")

  # Which component gets which access to the artifacts.
  workloads = {
    mlflow   = { service_account = var.service_account_names.mlflow, policy = module.artifact_store.read_write_policy_json }
    training = { service_account = var.service_account_names.training, policy = module.artifact_store.read_write_policy_json }
    serving  = { service_account = var.service_account_names.serving, policy = module.artifact_store.read_only_policy_json }
  }
}

module "network" {
  source = "../../modules/network"

  name               = var.name
  cidr               = var.vpc_cidr
  azs                = var.azs
  private_subnets    = local.private_subnets
  public_subnets     = local.public_subnets
  single_nat_gateway = var.single_nat_gateway

  tags = { Component = "network" }
}

module "eks" {
  source = "../../modules/eks"

  name                         = var.name
  kubernetes_version           = var.kubernetes_version
  subnet_ids                   = module.network.private_subnet_ids
  endpoint_public_access       = var.cluster_endpoint_public_access
  endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs
  node_group                   = var.node_group

  tags = { Component = "eks" }
}

module "artifact_store" {
  source = "../../modules/artifact-store"

  bucket_name = local.artifact_bucket_name

  tags = { Component = "mlflow" }
}

module "backend_store" {
  source = "../../modules/backend-store"

  identifier     = "${var.name}-mlflow"
  instance_class = var.db_instance_class
  vpc_id         = module.network.vpc_id
  subnet_ids     = module.network.private_subnet_ids
  # Managed nodes carry the cluster security group, so pods (the MLflow
  # server) reach the database through it.
  allowed_security_group_ids = { eks_cluster = module.eks.cluster_security_group_id }
  multi_az                   = var.db_multi_az
  deletion_protection        = var.db_deletion_protection

  tags = { Component = "mlflow" }
}

module "registry" {
  source = "../../modules/registry"

  name             = var.name
  repository_names = var.image_repositories

  tags = { Component = "registry" }
}

module "irsa" {
  source   = "../../modules/irsa"
  for_each = local.workloads

  name              = "${var.name}-${each.key}"
  oidc_provider_arn = module.eks.oidc_provider_arn
  namespace         = var.kubernetes_namespace
  service_account   = each.value.service_account
  inline_policies   = { mlflow-artifacts = each.value.policy }

  tags = { Component = each.key }
}

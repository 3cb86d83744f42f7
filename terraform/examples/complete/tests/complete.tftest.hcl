# Plans and mock-applies the whole composition: wiring between the modules and
# the outputs the Helm chart consumes.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  # ARN-typed arguments are validated by the provider even under a mock.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::shiplane-mlflow-artifacts-123456789012" }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
  mock_resource "aws_eks_cluster" {
    defaults = {
      identity              = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }] }]
      certificate_authority = [{ data = "LS0tLS1CRUdJTi1DRVJUSUZJQ0FURS0tLS0t" }]
    }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      address = "shiplane-mlflow.abcdefghijkl.eu-west-1.rds.amazonaws.com"
      master_user_secret = [{
        secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0000-AbCdEf"
        kms_key_id    = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
        secret_status = "active"
      }]
    }
  }
}

run "complete_plan" {
  command = plan

  assert {
    condition     = length(module.network.private_subnet_ids) == 3
    error_message = "The example must spread private subnets over three availability zones."
  }
}

run "complete_outputs_for_the_chart" {
  command = apply

  assert {
    condition     = output.artifact_bucket_name == "shiplane-mlflow-artifacts-123456789012"
    error_message = "The default bucket name must be derived from the deployment name and account ID."
  }

  assert {
    condition = (
      output.db_endpoint == "shiplane-mlflow.abcdefghijkl.eu-west-1.rds.amazonaws.com"
      && output.db_port == 5432 && output.db_name == "mlflow"
      && output.db_master_user_secret_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0000-AbCdEf"
    )
    error_message = "The database outputs must expose host, port, database name and the master-user secret ARN."
  }

  assert {
    condition     = toset(keys(output.irsa_role_arns)) == toset(["mlflow", "training", "serving"])
    error_message = "There must be one IRSA role per component."
  }

  assert {
    condition     = output.registry_url == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    error_message = "registry_url must be the ECR registry host."
  }

  assert {
    condition     = toset(keys(output.repository_urls)) == toset(["shiplane/shiplane-serving", "shiplane/shiplane-training", "shiplane/shiplane-router"])
    error_message = "The serving, training and router repositories must exist, named as the chart expects."
  }

  assert {
    condition = yamldecode(output.helm_values) == {
      image = { registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com" }
      mlflow = {
        enabled      = true
        backendStore = { existingSecret = "shiplane-mlflow-backend-store" }
        artifacts    = { s3Bucket = "shiplane-mlflow-artifacts-123456789012", s3Prefix = "mlflow" }
      }
      serviceAccounts = {
        mlflow   = { annotations = { "eks.amazonaws.com/role-arn" = output.irsa_role_arns.mlflow } }
        training = { annotations = { "eks.amazonaws.com/role-arn" = output.irsa_role_arns.training } }
        serving  = { annotations = { "eks.amazonaws.com/role-arn" = output.irsa_role_arns.serving } }
      }
    }
    error_message = "helm_values must carry exactly the chart keys the docs promise."
  }

  assert {
    condition     = output.configure_kubectl == "aws eks update-kubeconfig --region eu-west-1 --name shiplane"
    error_message = "configure_kubectl must name the region and cluster."
  }
}

run "each_component_trusts_only_its_service_account" {
  command = apply

  assert {
    condition = alltrue([
      for component, sa in { mlflow = "shiplane-mlflow", training = "shiplane-training", serving = "shiplane-serving" } :
      module.irsa[component].service_account_subject == "system:serviceaccount:shiplane:${sa}"
    ])
    error_message = "Each IRSA role must trust exactly its component's service account in the chart namespace."
  }
}

run "serving_is_read_only_training_and_mlflow_read_write" {
  command = apply

  assert {
    condition     = module.artifact_store.read_only_policy_json != module.artifact_store.read_write_policy_json
    error_message = "Read-only and read-write policies must differ."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(module.artifact_store.read_only_policy_json).Statement :
      !contains(flatten([s.Action]), "s3:PutObject")
    ])
    error_message = "The read-only policy must not allow writes."
  }
}

run "rejects_empty_name" {
  command = plan

  variables {
    name = ""
  }

  expect_failures = [var.name]
}

run "rejects_invalid_vpc_cidr" {
  command = plan

  variables {
    vpc_cidr = "10.0.0.0/33"
  }

  expect_failures = [var.vpc_cidr]
}

run "rejects_zone_outside_region" {
  command = plan

  variables {
    azs = ["eu-west-1a", "us-east-1b"]
  }

  expect_failures = [var.azs]
}

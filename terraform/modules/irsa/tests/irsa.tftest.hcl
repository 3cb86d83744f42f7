mock_provider "aws" {}

variables {
  name              = "shiplane-serving"
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  namespace         = "shiplane"
  service_account   = "shiplane-serving"
  inline_policies = {
    artifacts = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bucket/mlflow/*\"}]}"
  }
  tags = { Project = "shiplane" }
}

run "trust_is_scoped_to_the_exact_service_account" {
  command = apply

  assert {
    condition     = length(jsondecode(aws_iam_role.this.assume_role_policy).Statement) == 1
    error_message = "The trust policy must hold a single statement."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Principal.Federated == var.oidc_provider_arn
      && jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Action == "sts:AssumeRoleWithWebIdentity"
    )
    error_message = "Only web identities from the cluster's OIDC provider may assume the role."
  }

  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition == {
      StringEquals = {
        "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub" = "system:serviceaccount:shiplane:shiplane-serving"
        "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud" = "sts.amazonaws.com"
      }
    }
    error_message = "The trust must match the exact subject and audience with StringEquals (no StringLike, no wildcard)."
  }

  assert {
    condition     = output.service_account_subject == "system:serviceaccount:shiplane:shiplane-serving"
    error_message = "service_account_subject must name the trusted service account."
  }
}

run "policies_attached" {
  command = apply

  variables {
    policy_arns = { readonly = "arn:aws:iam::aws:policy/ReadOnlyAccess" }
  }

  assert {
    condition     = aws_iam_role_policy.this["artifacts"].policy == var.inline_policies.artifacts
    error_message = "Inline policies must be embedded in the role as given."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.this["readonly"].policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    error_message = "Managed policies must be attached."
  }
}

run "tags_and_name" {
  command = apply

  assert {
    condition     = aws_iam_role.this.name == "shiplane-serving" && aws_iam_role.this.tags["Project"] == "shiplane"
    error_message = "The role must carry the given name and tags."
  }
}

run "rejects_wildcard_service_account" {
  command = plan

  variables {
    service_account = "*"
  }

  expect_failures = [var.service_account]
}

run "rejects_invalid_namespace" {
  command = plan

  variables {
    namespace = "Shiplane_NS"
  }

  expect_failures = [var.namespace]
}

run "rejects_non_oidc_provider_arn" {
  command = plan

  variables {
    oidc_provider_arn = "arn:aws:iam::123456789012:role/not-an-oidc-provider"
  }

  expect_failures = [var.oidc_provider_arn]
}

run "rejects_empty_name" {
  command = plan

  variables {
    name = ""
  }

  expect_failures = [var.name]
}

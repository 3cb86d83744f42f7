locals {
  # The issuer host/path is what STS puts in front of the token's claims.
  oidc_issuer = split("oidc-provider/", var.oidc_provider_arn)[1]
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = "IRSA role of service account ${var.namespace}/${var.service_account}"
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn

  # StringEquals on both claims: only this one service account, and only
  # tokens minted for STS, can assume the role.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "ServiceAccount"
      Effect    = "Allow"
      Principal = { Federated = var.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.oidc_issuer}:sub" = "system:serviceaccount:${var.namespace}:${var.service_account}"
          "${local.oidc_issuer}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = var.inline_policies

  name   = each.key
  role   = aws_iam_role.this.id
  policy = each.value
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = var.policy_arns

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

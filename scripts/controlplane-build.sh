#!/usr/bin/env bash
# Builds the real Kubernetes control plane the tests run against, from published
# Go modules (the Go module proxy), into .tools/controlplane/<component>-<version>/.
#
#   kube-apiserver, kube-controller-manager  k8s.io/kubernetes
#   kubectl (the same version)               k8s.io/kubernetes
#   etcd                                     go.etcd.io/etcd/server/v3
#   kserve (KServe's manager) + CRDs,        github.com/kserve/kserve (>= 0.20: spec.canary[])
#     its inferenceservice-config ConfigMap
#     and webhook configurations
#   prometheus-operator CRDs                 github.com/prometheus-operator/prometheus-operator
#
# The pins live in scripts/controlplane.env (shiplane_tools.localcluster reads the same
# file); an environment variable of the same name overrides one for a build.
# Nothing here is committed: the wrapper modules live under .tools/ and are made
# anew from the pins. A component already built at its pinned version is left
# alone, so a warm run takes well under a second.
#
# Usage: controlplane-build.sh [component...]   (default: all; etcd kube kubectl kserve promop)
# CONTROLPLANE_OUT=DIR builds somewhere else (used to measure a cold build).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
while IFS='=' read -r key value; do
  case $key in ''|\#*) continue ;; esac
  [ -n "${!key:-}" ] || printf -v "$key" '%s' "$value"
done <"$root/scripts/controlplane.env"

out=${CONTROLPLANE_OUT:-$root/.tools/controlplane}
work="$out/.build"
mkdir -p "$out" "$work"
# One build at a time: two Go builds on a 2-core machine take longer than in turn.
exec 9>"$out/.lock"
if ! flock -n 9; then
  printf '[controlplane] another build holds %s; waiting for it\n' "$out/.lock"
  flock 9
fi

export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0
say() { printf '\033[1m[controlplane]\033[0m %s\n' "$*"; }
die() { printf '[controlplane] error: %s\n' "$*" >&2; exit 1; }
command -v go >/dev/null || die "go is not installed: the control plane is built from Go modules (Go >= 1.24)"

# Directory of a module version in the module cache, downloading it if needed.
module_dir() {
  local dir
  dir=$(cd / && go mod download -json "$1@$2" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$dir" ] || die "could not download $1@$2 from the Go module proxy"
  echo "$dir"
}

# A wrapper module that requires $1@$2, carrying the upstream go.mod's replace
# lines, which `go install pkg@version` refuses. Two kinds exist:
#  - a sibling developed in the same repository (`k8s.io/api => ./staging/...`,
#    `go.etcd.io/etcd/api/v3 => ../api`): only a checkout has that path, so the
#    published sibling at $3 stands in;
#  - a pinned version (`k8s.io/api => k8s.io/api v0.34.5`): copied as it is.
# The list is read from the upstream go.mod, never typed.
wrapper() {
  local dir=$1 module=$2 version=$3 sibling_version=$4
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init shiplane.local/controlplane >/dev/null 2>&1
  go mod edit -go=1.24.0 -require="$module@$version"
  local upstream
  upstream=$(go mod download -json "$module@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$upstream" ] || die "could not download $module@$version from the Go module proxy"
  local from to ver
  awk '{sub(/^replace[ \t]+/, "")} $2 == "=>" && $3 !~ /FORBIDDEN/ {print $1, $3, $4}' "$upstream" |
  while read -r from to ver; do
    case $to in
      ./*|../*) go mod edit -replace="$from=$from@$sibling_version" ;;
      *) go mod edit -replace="$from=$to@$ver" ;;
    esac
  done
}

ASSETS_LAYOUT=2
build() {
  local name=$1 version=$2 dest="$out/$1-$2"
  if [ -f "$dest/.built" ]; then
    say "$name $version: cached"
  else
    local started=$SECONDS
    say "$name $version: building (cold builds take minutes; progress is Go's own output)"
    rm -rf "$dest.tmp"
    "build_$name" "$dest.tmp" "$version"
    touch "$dest.tmp/.built"
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
    say "$name $version: built in $((SECONDS - started)) s -> $dest"
  fi
  # Files copied from the module (CRDs, configuration): cheap, and added to a
  # directory an older version of this script built without rebuilding it.
  # The marker holds ASSETS_LAYOUT: bump it when the list of copied files changes.
  if declare -F "assets_$name" >/dev/null &&
     [ "$(cat "$dest/.assets" 2>/dev/null)" != "$ASSETS_LAYOUT" ]; then
    "assets_$name" "$dest" "$version"
    echo "$ASSETS_LAYOUT" >"$dest/.assets"
  fi
}

kube_ldflags() {
  local v=$1 minor
  minor=$(echo "$v" | cut -d. -f2)
  local pkg=k8s.io/component-base/version
  # Without the stamp /version answers v0.0.0 and Helm's kubeVersion check fails.
  echo "-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor" \
       "-X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
}

build_kube() {
  local dest=$1 v=$2
  wrapper "$work/kube" k8s.io/kubernetes "$v" "v0.${v#v1.}"
  local cmds=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
  for c in "${cmds[@]}"; do go get -tool "$c@$v"; done
  mkdir -p "$dest"
  go build -pgo=off -trimpath -ldflags "$(kube_ldflags "$v")" -o "$dest/" "${cmds[@]}"
}

# kubectl at the server's version: the image's kubectl (1.32) is outside the
# +/-1 minor skew kubectl supports against a 1.34 server, and a new machine may
# have none. Its own wrapper module, so the control-plane binaries stay cached.
build_kubectl() {
  local dest=$1 v=$2
  wrapper "$work/kubectl" k8s.io/kubernetes "$v" "v0.${v#v1.}"
  go get -tool "k8s.io/kubernetes/cmd/kubectl@$v"
  mkdir -p "$dest"
  go build -pgo=off -trimpath -ldflags "$(kube_ldflags "$v")" -o "$dest/" k8s.io/kubernetes/cmd/kubectl
}

build_etcd() {
  local dest=$1 v=$2
  wrapper "$work/etcd" go.etcd.io/etcd/server/v3 "$v" "$v"
  go get -tool "go.etcd.io/etcd/server/v3@$v"
  mkdir -p "$dest"
  go build -pgo=off -trimpath -ldflags "-s -w" -o "$dest/etcd" go.etcd.io/etcd/server/v3
}

build_kserve() {
  local dest=$1 v=$2
  wrapper "$work/kserve" github.com/kserve/kserve "$v" "$v"
  go get -tool "github.com/kserve/kserve/cmd/manager@$v"
  mkdir -p "$dest"
  go build -pgo=off -trimpath -ldflags "-s -w" -o "$dest/kserve" github.com/kserve/kserve/cmd/manager
}

assets_kserve() {
  local dest=$1 v=$2 src
  src=$(module_dir github.com/kserve/kserve "$v")
  mkdir -p "$dest/crds" "$dest/config"
  # The CRDs as KServe's own install renders them (config/crd/full), the
  # ConfigMap its manager reads at start-up (every key, KServe's defaults) and
  # its webhook configurations (service references; localcluster points them at
  # the local manager).
  rm -rf "$dest/crds" && mkdir -p "$dest/crds"
  cp "$src"/config/crd/full/serving.kserve.io_*.yaml \
     "$src"/config/crd/full/clusterstoragecontainer/serving.kserve.io_*.yaml "$dest/crds/"
  cp "$src/config/configmap/inferenceservice.yaml" "$dest/config/inferenceservice-config.yaml"
  cp "$src/config/webhook/manifests.yaml" "$dest/config/webhooks.yaml"
  chmod -R u+w "$dest/crds" "$dest/config"
}

build_promop() {
  mkdir -p "$1"
}

assets_promop() {
  local dest=$1 v=$2 src
  src=$(module_dir github.com/prometheus-operator/prometheus-operator "$v")
  mkdir -p "$dest/crds"
  for kind in podmonitors servicemonitors prometheusrules; do
    cp "$src/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$dest/crds/"
  done
  chmod -R u+w "$dest/crds"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(etcd kube kubectl kserve promop)
for c in "${want[@]}"; do
  case $c in
    kube) build kube "$KUBE_VERSION" ;;
    kubectl) build kubectl "$KUBE_VERSION" ;;
    etcd) build etcd "$ETCD_VERSION" ;;
    kserve) build kserve "$KSERVE_VERSION" ;;
    promop) build promop "$PROMETHEUS_OPERATOR_VERSION" ;;
    *) die "unknown component $c (etcd, kube, kubectl, kserve, promop)" ;;
  esac
done

#!/usr/bin/env bash
# Builds the S3-compatible server the tests run against, SeaweedFS's `weed`,
# from its Go module (github.com/seaweedfs/seaweedfs, the Go module proxy) into
# .tools/s3server/weed-<version>/weed.
#
# The pin lives in scripts/s3server.env (shiplane_tools.localstack reads the
# same file); SEAWEEDFS_VERSION in the environment overrides it for one build.
# Nothing here is committed: the wrapper module lives under .tools/ and is made
# anew from the pin. A version already built is left alone (a warm run takes
# well under a second).
#
# Usage: s3server-build.sh          S3SERVER_OUT=DIR builds somewhere else
#                                   (used to measure a cold build).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
while IFS='=' read -r key value; do
  case $key in ''|\#*) continue ;; esac
  [ -n "${!key:-}" ] || printf -v "$key" '%s' "$value"
done <"$root/scripts/s3server.env"

module=github.com/seaweedfs/seaweedfs
out=${S3SERVER_OUT:-$root/.tools/s3server}
dest="$out/weed-$SEAWEEDFS_VERSION"
say() { printf '\033[1m[s3server]\033[0m %s\n' "$*"; }
die() { printf '[s3server] error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$out"
# One Go build at a time: two on a 2-core machine take longer than in turn.
exec 9>"$out/.lock"
if ! flock -n 9; then
  say "another build holds $out/.lock; waiting for it"
  flock 9
fi
if [ -x "$dest/weed" ]; then
  say "weed $SEAWEEDFS_VERSION: cached"
  exit 0
fi
command -v go >/dev/null || die "go is not installed: weed is built from its Go module (Go >= 1.26)"
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0

started=$SECONDS
say "weed $SEAWEEDFS_VERSION: building (a cold build takes minutes; progress is Go's own output)"
# `go install pkg@version` refuses a module whose go.mod has replace lines, so
# a wrapper module requires it and carries those lines, read from its go.mod.
work="$out/.build"
rm -rf "$work" "$dest.tmp" && mkdir -p "$work" "$dest.tmp" && cd "$work"
go mod init shiplane.local/s3server >/dev/null 2>&1
upstream=$(go mod download -json "$module@$SEAWEEDFS_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$upstream" ] || die "could not download $module@$SEAWEEDFS_VERSION from the Go module proxy"
go mod edit -go="$(sed -n 's/^go //p' "$upstream")" -require="$module@$SEAWEEDFS_VERSION"
awk '{sub(/^replace[ \t]+/, "")} $2 == "=>" && $3 !~ /^[.\/]/ {print $1, $3, $4}' "$upstream" |
while read -r from to ver; do
  go mod edit -replace="$from=$to@$ver"
done
go get -tool "$module/weed@$SEAWEEDFS_VERSION"
go build -pgo=off -trimpath -ldflags "-s -w" -o "$dest.tmp/weed" "$module/weed"
"$dest.tmp/weed" version >/dev/null || die "the built weed does not run"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
say "weed $SEAWEEDFS_VERSION: built in $((SECONDS - started)) s -> $dest/weed"

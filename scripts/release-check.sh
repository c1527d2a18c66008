#!/usr/bin/env bash
# Checks the goreleaser configuration and builds a full snapshot release
# (binaries, archives, checksums, deb and rpm) into dist/, publishing nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v2.15.1
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"

goreleaser=$(command -v goreleaser || true)
if [ -z "$goreleaser" ] || ! "$goreleaser" --version 2>/dev/null | grep -q "GitVersion: *v\?${version#v}$"; then
  echo "== installing goreleaser $version"
  go install "github.com/goreleaser/goreleaser/v2@$version"
  goreleaser="$gobin/goreleaser"
fi

echo "== goreleaser check"
"$goreleaser" check

echo "== goreleaser release --snapshot"
"$goreleaser" release --snapshot --clean --skip=publish

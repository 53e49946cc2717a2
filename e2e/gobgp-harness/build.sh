#!/usr/bin/env bash
# Builds gobgpd and gobgp at the version pinned in this folder's go.mod into
# ~/.cache/portico/gobgp/<version>/, once; prints that folder on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^[[:space:]]*github.com\/osrg\/gobgp\/v3 \(v[0-9.]*\).*/\1/p' "$here/go.mod")
[ -n "$version" ] || { echo "gobgp-harness: cannot read the pinned version from $here/go.mod" >&2; exit 1; }
cache=${PORTICO_GOBGP_CACHE:-$HOME/.cache/portico/gobgp/$version}
mkdir -p "$cache"
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
stamp="$version $(go env GOVERSION)"
for bin in gobgpd gobgp; do
  if [ -x "$cache/$bin" ] && [ "$(cat "$cache/$bin.stamp" 2>/dev/null)" = "$stamp" ]; then continue; fi
  echo "gobgp-harness: building $bin $version from the Go module proxy into $cache (first time only)" >&2
  (cd "$here" && go build -trimpath -ldflags "-s -w" -o "$cache/$bin.tmp" "github.com/osrg/gobgp/v3/cmd/$bin")
  mv "$cache/$bin.tmp" "$cache/$bin"
  echo "$stamp" > "$cache/$bin.stamp"
done
echo "$cache"

#!/usr/bin/env bash
# Installs everything Portico's tests and local control plane need on a Debian machine, and does
# nothing when it is already there: Debian packages, npm packages, a Go toolchain new enough for
# the Kubernetes harness, and the Go-built Kubernetes binaries (cached in ~/.cache/portico/k8s/).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

# --- Debian packages -------------------------------------------------------------------------
# openssl: test PKI; g++, make, python3: the native addon (native/); the rest: the lab's namespaces,
# routers and probes (see e2e/lab/preflight.ts).
debs=(openssl iproute2 procps ca-certificates nftables iptables frr bird2 gobgpd arping ndisc6 tcpdump
  iputils-ping socat conntrack g++ make python3)
missing=()
for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
command -v go >/dev/null 2>&1 || missing+=(golang-go)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then say "missing Debian packages ${missing[*]}: run as root or install them"; exit 1; fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Node.js ---------------------------------------------------------------------------------
node_major=$(node -p 'process.versions.node.split(".").map(Number).reduce((a, b, i) => i < 2 ? a * 1000 + b : a)' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20018 ]; then say "Node.js >= 20.18 is required (found $(node --version 2>/dev/null || echo none))"; exit 1; fi

# --- npm packages (also builds dist/ through the prepare script) ------------------------------
stamp=node_modules/.portico-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
else
  node native/build.mjs --if-stale
  npm run --silent build
fi

# --- Go toolchain ----------------------------------------------------------------------------
need_go=$(sed -n 's/^go \([0-9.]*\)$/\1/p' e2e/k8s-harness/go.mod)
have_go=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have_go" | sort -V | head -n1)" != "$need_go" ]; then
  # Debian's Go is too old; fetch the toolchain through the Go module proxy, as `go` itself would.
  toolchain=golang.org/toolchain@v0.0.1-go1.26.8.linux-$(dpkg --print-architecture)
  say "Go $have_go is older than $need_go; fetching $toolchain from the Go module proxy"
  tmp=$(mktemp -d)
  dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$toolchain" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  rm -rf "$tmp"
  export PATH="$dir/bin:$PATH"
fi

# --- Kubernetes binaries, and a gobgpd new enough for the lab's GoBGP router ---------------------
e2e/k8s-harness/build.sh >/dev/null
e2e/gobgp-harness/build.sh >/dev/null
say "ready"

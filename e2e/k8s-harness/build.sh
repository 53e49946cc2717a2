#!/usr/bin/env bash
# Builds the Kubernetes binaries Portico's tests run (kube-apiserver, kube-controller-manager,
# kube-scheduler, kube-proxy, kubectl, etcd) from the Go module proxy, at the versions pinned in
# this folder's go.mod. Binaries are cached in ~/.cache/portico/k8s/<version>/ and rebuilt only
# when a binary is missing or the pinned version changes.
#
# usage: e2e/k8s-harness/build.sh [binary ...]    (default: all of them)
# prints the cache folder on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$here/go.mod")
etcd_version=$(sed -n 's/^[[:space:]]*go.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\).*/\1/p' "$here/go.mod")
[ -n "$version" ] && [ -n "$etcd_version" ] || { echo "k8s-harness: cannot read the pinned versions from $here/go.mod" >&2; exit 1; }

cache=${PORTICO_K8S_CACHE:-$HOME/.cache/portico/k8s/$version}
mkdir -p "$cache"
all=(etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl)
wanted=("${@:-${all[@]}}")

command -v go >/dev/null || { echo "k8s-harness: Go is required to build the Kubernetes test binaries (apt-get install golang, or install Go >= 1.26)" >&2; exit 1; }

export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
minor=${version#v1.}; minor=${minor%%.*}
cv=k8s.io/component-base/version
k8s_ldflags="-s -w -X $cv.gitVersion=$version -X $cv.gitMajor=1 -X $cv.gitMinor=$minor -X $cv.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

stamp() { echo "$version etcd=$etcd_version $(go env GOVERSION)"; }

for bin in "${wanted[@]}"; do
  out="$cache/$bin"
  if [ -x "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$(stamp)" ]; then
    continue
  fi
  case "$bin" in
    etcd) pkg=go.etcd.io/etcd/server/v3; flags=(-ldflags "-s -w") ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy|kubectl)
      pkg=k8s.io/kubernetes/cmd/$bin; flags=(-tags selinux,notest,grpcnotrace -ldflags "$k8s_ldflags") ;;
    *) echo "k8s-harness: unknown binary '$bin' (known: ${all[*]})" >&2; exit 1 ;;
  esac
  echo "k8s-harness: building $bin $version from the Go module proxy into $cache (first time only; a cold build takes several minutes)" >&2
  start=$(date +%s)
  (cd "$here" && go build -trimpath "${flags[@]}" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  stamp > "$out.stamp"
  echo "k8s-harness: built $bin in $(( $(date +%s) - start ))s" >&2
done
echo "$cache"

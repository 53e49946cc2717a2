#!/usr/bin/env bash
# Starts a local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) on
# loopback and prints its kubeconfig; Ctrl-C stops it. Installs what it needs on first run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx e2e/cluster/cli.ts "$@"

#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, type check, lint, unit tests,
# then the integration and end-to-end suites against a real kube-apiserver.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== type check" && npx tsc --noEmit
echo "== lint" && npx biome check --error-on-warnings .

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
echo "== unit tests"
npm run --silent test:unit 2>&1 | tee "$out/unit" || status=1
echo "== integration and end-to-end tests (real etcd + kube-apiserver)"
npm run --silent test:e2e 2>&1 | tee "$out/e2e" || status=1

count() { sed -n "s/^ℹ $1 \([0-9]*\)$/\1/p" "$out/unit" "$out/e2e" | awk "{ s += \$1 } END { print s + 0 }"; }
echo "all suites: $(count pass) passed, $(count fail) failed, $(count skipped) skipped"
exit "$status"

#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, type check, lint, unit tests,
# then the integration and end-to-end suites against a real kube-apiserver.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== type check" && npx tsc --noEmit
echo "== lint" && npx biome check --error-on-warnings .
echo "== unit tests" && npm run --silent test:unit
echo "== integration and end-to-end tests" && npm run --silent test:e2e

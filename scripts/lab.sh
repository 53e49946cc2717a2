#!/usr/bin/env bash
# `npm run lab -- up|down|status|…`: installs what the lab needs on first run, then runs `portico lab`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-up}" = up ]; then bash scripts/setup.sh; fi
exec node bin/portico.js lab "${@:-up}"

#!/usr/bin/env bash
# Command one: runs the whole registry (web and workers) on embedded services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npm run --silent build
exec node dist/scripts/run-local.js

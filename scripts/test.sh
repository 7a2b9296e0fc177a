#!/usr/bin/env bash
# Command two: the whole test suite against real FerretDB and Redis instances that the
# suite starts on free ports in temporary folders.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --test
# The build (dist/) is type-checked and is what the crash and browser tests run as child processes.
npm run --silent build
npx tsc -p tsconfig.json --noEmit
npx jest "$@"

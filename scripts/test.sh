#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what is missing, then runs unit and
# integration tests (integration tests drive real PostgreSQL servers on the real Docker engine).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --ha
exec npx --no-install vitest run "$@"

#!/usr/bin/env bash
# npm run bench: installs what is missing (as the tests do; the docker-CLI baseline polls with the
# psql and pg_isready the setup installs), then prints the benchmark tables.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/bench/bench.js

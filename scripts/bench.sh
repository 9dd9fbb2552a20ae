#!/usr/bin/env bash
# npm run bench: installs what is missing (as the tests do), plus the PostgreSQL client tools the
# docker-CLI baseline polls with (pg_isready, psql), then prints the benchmark tables.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v psql > /dev/null || ! command -v pg_isready > /dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "setup: apt-get install postgresql-client (the baseline's pg_isready and psql)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client > /dev/null
  else
    echo "bench: the baseline needs pg_isready and psql on PATH (postgresql-client)" >&2
    exit 1
  fi
fi
exec node dist/bench/bench.js

#!/usr/bin/env bash
# Installs what repl-lab needs and is missing, and does nothing else: Node packages, the build, a
# Docker engine (installed and started only where none answers and we are root on Debian), the
# compose tool, PostgreSQL's client tools, Chromium (for the dashboard's browser tests), and a
# PostgreSQL image (the official postgres:17 where a registry answers, else repl-lab/postgres:17
# built from Debian's packages), the packet-filter helper repl-lab/netfilter:1 (for partition); with
# --ha also repl-lab/postgres-ha:17 (Patroni and etcd) and repl-lab/engine:1 (engines for the tests of labs across engines).
# Safe to run again: a ready machine takes ~1 s.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }
root_on_debian() { [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    apt-get update -qq > /dev/null
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq "$@" > /dev/null
}

# 1. Node packages, exactly as locked.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. The build (the esbuild bundle and tsc's type declarations in dist/), when an input is newer than it.
if [ ! -f dist/cli/cli.mjs ] || [ -n "$(find src scripts/build.mjs scripts/bundles.mjs tsconfig.json package.json package-lock.json -newer dist/cli/cli.mjs -print -quit)" ]; then
  say "building (esbuild bundle, tsc declarations)"
  node scripts/build.mjs
fi

# 3. A Docker engine that answers.
if ! docker info > /dev/null 2>&1; then
  if ! command -v dockerd > /dev/null; then
    if root_on_debian; then
      apt_install docker.io
    else
      say "no Docker engine answers and none can be installed here: install Docker, start it, and run this again"
      exit 1
    fi
  fi
  if ! docker info > /dev/null 2>&1; then
    say "starting dockerd (log: /var/log/repl-lab-dockerd.log)"
    if [ "$(id -u)" != 0 ]; then
      say "dockerd is installed but not running, and starting it needs root: start Docker and run this again"
      exit 1
    fi
    nohup dockerd > /var/log/repl-lab-dockerd.log 2>&1 &
    for _ in $(seq 1 120); do
      docker info > /dev/null 2>&1 && break
      sleep 0.5
    done
    docker info > /dev/null 2>&1 || { say "dockerd did not answer within 60 s; see /var/log/repl-lab-dockerd.log"; exit 1; }
  fi
fi

# 4. A compose tool, for rendered labs (and their test).
if ! docker compose version > /dev/null 2>&1 && ! command -v docker-compose > /dev/null; then
  if root_on_debian; then apt_install docker-compose; else say "no compose tool found: rendered files need docker compose or docker-compose"; fi
fi

# 5. PostgreSQL's client tools on the host (psql, pg_isready): for `psql "$PRIMARY_URL"`, the tests
#    that check libpq follows target_session_attrs, and the benchmark's docker-CLI baseline.
if ! command -v psql > /dev/null || ! command -v pg_isready > /dev/null; then
  if root_on_debian; then apt_install postgresql-client; else say "no psql found: install PostgreSQL's client tools for psql \"\$PRIMARY_URL\""; fi
fi

# 5b. A browser for the dashboard's tests (playwright-core drives it; no browser download is possible
#     here, so it is Debian's chromium at /usr/bin/chromium, or CHROMIUM_PATH).
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium > /dev/null; then
  if root_on_debian; then apt_install chromium; else say "no chromium found: the dashboard's browser tests need one (set CHROMIUM_PATH)"; fi
fi

# 5c. The tests' report checkers: xmllint validates every JUnit report against the strict schema
#     (test/junit-strict.xsd); Perl's prove reads the TAP reports (perl is on every Debian system).
if ! command -v xmllint > /dev/null; then
  if root_on_debian; then apt_install libxml2-utils; else say "no xmllint found: the tests' JUnit checks need libxml2-utils"; fi
fi

# 6. A PostgreSQL image: the one named by REPL_LAB_IMAGE, else postgres:17, else repl-lab/postgres:17.
have_image() { docker image inspect "$1" > /dev/null 2>&1; }
if [ -n "${REPL_LAB_IMAGE:-}" ]; then
  have_image "$REPL_LAB_IMAGE" || docker pull -q "$REPL_LAB_IMAGE" > /dev/null
elif ! have_image postgres:17 && ! have_image repl-lab/postgres:17; then
  if docker pull -q postgres:17 > /dev/null 2>&1; then
    say "pulled postgres:17"
  else
    say "no registry answers: building repl-lab/postgres:17 from Debian's packages (about a minute)"
    command -v mmdebstrap > /dev/null || { root_on_debian && apt_install mmdebstrap; }
    node bin/repl-lab.cjs image build --pg 17 > /dev/null
  fi
fi

# 6b. The packet-filter helper `repl-lab partition` loads its rules with: repl-lab/netfilter:1
#     (nftables alone). From templates/netfilter/Dockerfile where a registry answers, else from
#     Debian's packages (about 30 s once).
if ! have_image repl-lab/netfilter:1; then
  if docker build -q -t repl-lab/netfilter:1 templates/netfilter > /dev/null 2>&1; then
    say "built repl-lab/netfilter:1 from templates/netfilter/Dockerfile"
  else
    say "building repl-lab/netfilter:1 (nftables, for partition) from Debian's packages (about 30 s)"
    command -v mmdebstrap > /dev/null || { root_on_debian && apt_install mmdebstrap; }
    node bin/repl-lab.cjs image build --netfilter > /dev/null
  fi
fi

# 7. With --ha (the test suite asks for it): the HA image, repl-lab/postgres-ha:17, which adds
# Debian's Patroni and etcd, pg_auto_failover and HAProxy (no registry image has them). About 90 s
# once; an older one (Patroni alone, without the label naming the managers) is built again.
ha_image_current() { [ "$(docker image inspect -f '{{index .Config.Labels "repl-lab.ha-managers"}}' repl-lab/postgres-ha:17 2> /dev/null)" = "patroni,pg_auto_failover,haproxy" ]; }
if [ "${1:-}" = "--ha" ] && ! ha_image_current; then
  say "building repl-lab/postgres-ha:17 (PostgreSQL 17, Patroni, etcd, pg_auto_failover, HAProxy) from Debian's packages (about 90 s)"
  command -v mmdebstrap > /dev/null || { root_on_debian && apt_install mmdebstrap; }
  node bin/repl-lab.cjs image build --pg 17 --ha > /dev/null
fi

# 8. With --ha (the test suite asks for it): repl-lab/engine:1, Debian's Docker engine, which the
#    tests of labs across engines run three of as the lab's hosts (test/engines.ts). About 40 s once.
engine_image_current() { [ "$(docker image inspect -f '{{index .Config.Labels "repl-lab.image"}}' repl-lab/engine:1 2> /dev/null)" = "engine-2" ]; }
if [ "${1:-}" = "--ha" ] && ! engine_image_current; then
  say "building repl-lab/engine:1 (Docker's engine from Debian's packages, for the tests of labs across engines; about 40 s)"
  command -v mmdebstrap > /dev/null || { root_on_debian && apt_install mmdebstrap; }
  node bin/repl-lab.cjs image build --engine > /dev/null
fi

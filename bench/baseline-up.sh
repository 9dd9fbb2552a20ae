#!/usr/bin/env bash
# The baseline `npm run bench` measures `repl-lab up` against: the least a person could type with the
# docker CLI to get a leader and N streaming followers (standby1 synchronous). Trust authentication,
# no checks, nothing cleaned up on failure; polls through the published port every 50 ms.
# Usage: baseline-up.sh <lab> <followers> <image>   (remove it with: repl-lab down --lab <lab>)
set -euo pipefail
lab=$1 followers=$2 image=$3
labels=(--label repl-lab.managed=true --label "repl-lab.lab=$lab")
network="repl-lab-$lab"
docker network create "${labels[@]}" "$network" > /dev/null

server() { # name, settings...
  local name=$1; shift
  echo "exec gosu postgres postgres -D /var/lib/postgresql/data -c listen_addresses='*' -c cluster_name=$name -c wal_level=replica -c max_wal_senders=40 -c max_replication_slots=20 -c hot_standby=on $*"
}

docker run -d --name "repl-lab-$lab-leader" "${labels[@]}" --label repl-lab.node=leader --network "$network" --network-alias leader \
  -p 127.0.0.1::5432 "$image" bash -c "
    mkdir -p /var/lib/postgresql/data /var/run/postgresql && chown postgres /var/lib/postgresql/data /var/run/postgresql && chmod 700 /var/lib/postgresql/data
    gosu postgres initdb -D /var/lib/postgresql/data -U postgres --auth=trust > /dev/null
    echo 'host all all all trust' >> /var/lib/postgresql/data/pg_hba.conf
    echo 'host replication all all trust' >> /var/lib/postgresql/data/pg_hba.conf
    $(server leader "-c synchronous_standby_names=standby1")" > /dev/null
port=$(docker port "repl-lab-$lab-leader" 5432/tcp | head -1 | sed 's/.*://')
deadline=$((SECONDS + 120))
until pg_isready -q -h 127.0.0.1 -p "$port"; do [ $SECONDS -lt $deadline ] || exit 1; sleep 0.05; done
psql -qAt -h 127.0.0.1 -p "$port" -U postgres \
  -c "SELECT pg_create_physical_replication_slot('standby' || i, true) FROM generate_series(1, $followers) AS i" > /dev/null
for i in $(seq 1 "$followers"); do
  docker run -d --name "repl-lab-$lab-standby$i" "${labels[@]}" --label "repl-lab.node=standby$i" --network "$network" \
    -p 127.0.0.1::5432 "$image" bash -c "
      mkdir -p /var/lib/postgresql/data /var/run/postgresql && chown postgres /var/lib/postgresql/data /var/run/postgresql && chmod 700 /var/lib/postgresql/data
      gosu postgres pg_basebackup -h leader -U postgres -D /var/lib/postgresql/data -R -S standby$i -X stream --checkpoint=fast
      $(server "standby$i")" > /dev/null &
done
wait
query="SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND application_name LIKE 'standby%'"
until [ "$(psql -qAt -h 127.0.0.1 -p "$port" -U postgres -c "$query")" = "$followers" ]; do [ $SECONDS -lt $deadline ] || exit 1; sleep 0.05; done

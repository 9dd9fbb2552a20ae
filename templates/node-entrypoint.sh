# repl-lab node entrypoint. The same script runs every node, under `repl-lab up` and under a
# rendered compose file, in the official postgres images (Debian and alpine) and in repl-lab/postgres
# alike: it uses only bash, gosu or su-exec, and PostgreSQL's own programs, never the image's
# docker-entrypoint.sh.
#
# Environment: REPL_LAB_NODE, REPL_LAB_ROLE (primary|standby), REPL_LAB_PRIMARY_HOST,
# REPL_LAB_SLOT (empty: no replication slot), REPL_LAB_SUPERUSER_PASSWORD,
# REPL_LAB_REPLICATION_PASSWORD, REPL_LAB_NETWORK_DELAY (ms on a standby's link; empty: none), PGDATA.
# Arguments: postgresql.conf settings as name=value, written to $PGDATA/repl-lab.conf at every start.
set -euo pipefail

log() { echo "repl-lab[$REPL_LAB_NODE]: $*"; }

# Debian-based images have gosu, the official alpine ones su-exec; both take a user and a command.
if command -v gosu > /dev/null; then
  as_postgres=(gosu postgres)
elif command -v su-exec > /dev/null; then
  as_postgres=(su-exec postgres)
else
  log "this image has neither gosu nor su-exec to run PostgreSQL as the postgres user"
  exit 69
fi

# The seed's pitfall: PostgreSQL refuses a data directory not owned by it or with looser mode than 0700.
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 0700 "$PGDATA"

init_primary() {
  log "initdb"
  local pwfile
  pwfile=$(mktemp)
  printf '%s\n' "$REPL_LAB_SUPERUSER_PASSWORD" > "$pwfile"
  chown postgres "$pwfile"
  # Checksums let pg_rewind bring a former primary back as a follower. --no-sync skips fsyncing the
  # new cluster's files (about 0.3 s): only a crash of the host itself in the next seconds could
  # lose them, and a lab is rebuilt in seconds.
  "${as_postgres[@]}" initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --data-checksums --no-sync \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 > /dev/null
  rm -f "$pwfile"
  # samenet: the subnets this server is directly on, i.e. the lab's own network (and the host's
  # connections through published ports, which arrive from that network's gateway).
  cat > "$PGDATA/pg_hba.conf" <<HBA
# written by repl-lab
local all         all                 trust
host  replication replicator samenet  scram-sha-256
host  all         all        samenet  scram-sha-256
HBA
  # Clients on other machines (a lab across engines, a remote engine): passwords from any address.
  if [ "${REPL_LAB_CLIENTS_FROM:-}" = all ]; then
    echo "host  all         all        all      scram-sha-256" >> "$PGDATA/pg_hba.conf"
  fi
  log "creating role replicator"
  echo "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$REPL_LAB_REPLICATION_PASSWORD';" |
    "${as_postgres[@]}" postgres --single -D "$PGDATA" -j postgres > /dev/null
}

bootstrap_standby() {
  log "waiting for $REPL_LAB_PRIMARY_HOST"
  until pg_isready -q -h "$REPL_LAB_PRIMARY_HOST" -p 5432 -t 1; do sleep 0.1; done
  local slot_args=()
  if [ -n "${REPL_LAB_SLOT:-}" ]; then
    # The slot is created before the backup starts, so it holds every WAL segment the backup will
    # need: with --create-slot pg_basebackup makes it only after the backup has begun, and a
    # checkpoint from a follower bootstrapping alongside can recycle that WAL in between.
    log "creating replication slot $REPL_LAB_SLOT on $REPL_LAB_PRIMARY_HOST"
    PGPASSWORD="$REPL_LAB_REPLICATION_PASSWORD" "${as_postgres[@]}" psql -X -q -v ON_ERROR_STOP=1 \
      "host=$REPL_LAB_PRIMARY_HOST port=5432 user=replicator dbname=postgres" \
      -c "SELECT pg_create_physical_replication_slot('$REPL_LAB_SLOT', true)
          WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '$REPL_LAB_SLOT')" > /dev/null
    slot_args=(--slot="$REPL_LAB_SLOT")
  fi
  log "pg_basebackup from $REPL_LAB_PRIMARY_HOST"
  # No application_name here: the backup shows as "pg_basebackup" in pg_stat_replication, and the
  # walreceiver then names itself after cluster_name (set to the node's name), as PostgreSQL defaults.
  PGPASSWORD="$REPL_LAB_REPLICATION_PASSWORD" "${as_postgres[@]}" pg_basebackup \
    -d "host=$REPL_LAB_PRIMARY_HOST port=5432 user=replicator" \
    -D "$PGDATA" -X stream --checkpoint=fast --write-recovery-conf "${slot_args[@]}"
  log "base backup complete"
  if [ -n "${REPL_LAB_NETWORK_DELAY:-}" ]; then
    # The link's latency (see start_link_delay): the walreceiver connects through this node's
    # standby end, which reads the upstream and the delay from these options. The last line for a
    # setting in postgresql.auto.conf wins over the one pg_basebackup -R wrote.
    log "replication link to $REPL_LAB_PRIMARY_HOST delayed by ${REPL_LAB_NETWORK_DELAY} ms each way"
    printf "primary_conninfo = 'host=127.0.0.1 port=5434 user=replicator password=%s sslmode=disable gssencmode=disable options=-crepl_lab.link=%s/%s'\n" \
      "$REPL_LAB_REPLICATION_PASSWORD" "$REPL_LAB_PRIMARY_HOST" "$REPL_LAB_NETWORK_DELAY" >> "$PGDATA/postgresql.auto.conf"
  fi
}

# The userspace link delay (`repl-lab delay --network`), on every node that has Perl: a primary end
# on port 5433 and a standby end on 127.0.0.1:5434. Each holds the bytes its own node sends, so a
# node that dies loses what it had queued, as under netem.
start_link_delay() {
  if ! command -v perl > /dev/null; then
    log "no perl in this image: the userspace network delay is not available on this node"
    return
  fi
  cat > /tmp/repl-lab-link-delay.pl <<'LINK_DELAY_PL'
@LINK_DELAY_PL@
LINK_DELAY_PL
  "${as_postgres[@]}" perl /tmp/repl-lab-link-delay.pl primary-end 5433 5432 &
  "${as_postgres[@]}" perl /tmp/repl-lab-link-delay.pl standby-end 5434 5433 &
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  case "$REPL_LAB_ROLE" in
    primary) init_primary ;;
    standby) bootstrap_standby ;;
    *) log "unknown role '$REPL_LAB_ROLE'"; exit 64 ;;
  esac
fi

{
  echo "# written by repl-lab at every start; ALTER SYSTEM (postgresql.auto.conf) overrides it"
  for setting in "$@"; do
    value=${setting#*=}
    printf "%s = '%s'\n" "${setting%%=*}" "${value//\'/\'\'}"
  done
} > "$PGDATA/repl-lab.conf"
chown postgres:postgres "$PGDATA/repl-lab.conf"
grep -qx "include_if_exists = 'repl-lab.conf'" "$PGDATA/postgresql.conf" ||
  echo "include_if_exists = 'repl-lab.conf'" >> "$PGDATA/postgresql.conf"

start_link_delay

# This script stays PID 1 and PostgreSQL runs as its child, so that the link-delay processes are
# not the postmaster's children (it treats an unknown child that dies as a crashed backend). The
# container's stop signal (SIGINT, fast shutdown) and the others are passed on to PostgreSQL, and
# the container ends with its exit status.
# A killed server leaves postmaster.pid naming its PID, which PostgreSQL takes for stale only when it
# is its own or its parent's. In a new container that PID may belong to a link-delay process, and the
# server would refuse to start ("lock file already exists"; seen on a loaded 16-follower lab after
# kill and start). No other postmaster can use this data directory while its container starts.
rm -f "$PGDATA/postmaster.pid"
log "starting postgres as $REPL_LAB_ROLE"
"${as_postgres[@]}" postgres -D "$PGDATA" &
postgres_pid=$!
for signal in INT TERM QUIT HUP USR1 USR2; do
  trap "kill -$signal $postgres_pid 2> /dev/null || true" "$signal"
done
while :; do
  # `wait` returns early (with 128 + the signal) when a trapped signal arrives: wait again until
  # PostgreSQL itself has exited, and end with its status.
  status=0
  wait "$postgres_pid" || status=$?
  kill -0 "$postgres_pid" 2> /dev/null || break
done
exit "$status"

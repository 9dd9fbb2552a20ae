// The HA proxy as plain data: one HAProxy container in front of an HA lab, with a writer port that
// sends every connection to the node that is the leader now, and a reader port spread over the
// replicas. HAProxy decides from health checks, every half second: on Patroni's REST API (GET
// /primary answers 200 on the leader alone, /replica on a running replica), as Patroni's own docker
// demo does; with pg_auto_failover, which has no such API, by asking each server
// pg_is_in_recovery() in PostgreSQL's wire protocol (a tcp-check).
// https://patroni.readthedocs.io/en/latest/rest_api.html#health-check-endpoints
// https://docs.haproxy.org/3.0/configuration.html#4.2-tcp-check%20expect
import { PATRONI_PORT, POSTGRES_PORT, PROXY_READER_PORT, PROXY_STATS_PORT, PROXY_WRITER_PORT } from "./constants.js";
import type { HaManager } from "./constants.js";

/** The proxy's node name and network alias. */
export const PROXY = "proxy";
/** How often HAProxy checks each server; one failed check takes a server out, one good one puts it back. */
export const PROXY_CHECK_INTERVAL_MS = 500;


function serverLines(nodes: readonly string[], check: string): string[] {
  // Resolved by Docker's DNS at every check interval: a node restarted with a new address is followed;
  // a node whose container is gone does not stop HAProxy from starting.
  return nodes.map((node) => `  server ${node} ${node}:${POSTGRES_PORT} ${check} resolvers lab init-addr last,libc,none`);
}

/** haproxy.cfg for a lab's nodes, with checks that suit its manager. */
export function haproxyConfig(manager: HaManager, nodes: readonly string[]): string {
  const patroni = manager === "patroni";
  const listen = (name: string, port: number, want: "primary" | "replica") => [
    `listen ${name}`,
    `  bind *:${port}`,
    ...(want === "replica" ? ["  balance roundrobin"] : []),
    ...(patroni
      ? ["  option httpchk", `  http-check send meth GET uri /${want}`, "  http-check expect status 200"]
      : roleCheckLines(want)),
    ...serverLines(nodes, patroni ? `check port ${PATRONI_PORT}` : "check"),
    "",
  ];
  return [
    "global",
    "  maxconn 500",
    "",
    "resolvers lab",
    "  nameserver docker 127.0.0.11:53",
    "  hold valid 1s",
    "  hold obsolete 1s",
    "",
    "defaults",
    "  mode tcp",
    "  timeout connect 2s",
    "  timeout client 1h",
    "  timeout server 1h",
    "  timeout check 1s",
    // A connection to a server that has just gone (a stopped leader, before its check fails) is
    // retried once, on another server if one is up, else refused: with HAProxy's default of 3
    // retries a second apart, a client that connected in that window waited out its own connect
    // timeout (Patroni, clean stop, one follower: first write through the proxy 3.6 s after the
    // promotion; 0.3 s with these two lines).
    "  retries 1",
    "  option redispatch 1",
    // One failed check marks a server down and closes the sessions through it, so a client's
    // connection to a demoted or dead leader ends and its next one goes to the new leader; one good
    // check puts a server in.
    `  default-server inter ${PROXY_CHECK_INTERVAL_MS}ms fall 1 rise 1 on-marked-down shutdown-sessions`,
    "",
    ...listen("writer", PROXY_WRITER_PORT, "primary"),
    ...listen("reader", PROXY_READER_PORT, "replica"),
    // HAProxy's statistics as CSV (GET /stats;csv): `status` reads which servers are up behind each port.
    "listen stats",
    "  mode http",
    `  bind *:${PROXY_STATS_PORT}`,
    "  stats enable",
    "  stats uri /stats",
    "  stats refresh 0",
    "",
  ].join("\n");
}

/** The servers HAProxy has UP behind the writer and reader listeners, from its statistics CSV. */
export function upServers(csv: string): { writer: string[]; reader: string[] } {
  const [header = "", ...rows] = csv.replace(/^# /, "").split("\n");
  const columns = header.split(",");
  const at = (name: string) => columns.indexOf(name);
  const up = { writer: [] as string[], reader: [] as string[] };
  for (const row of rows) {
    const cells = row.split(",");
    const listener = cells[at("pxname")];
    const server = cells[at("svname")] ?? "";
    if ((listener !== "writer" && listener !== "reader") || server === "FRONTEND" || server === "BACKEND") continue;
    if (cells[at("status")]?.startsWith("UP")) up[listener].push(server);
  }
  return up;
}

/** The role the proxy's checks log in as on a pg_auto_failover lab (trust, lab network only, no privileges). */
export const CHECK_ROLE = "repl_lab_check";

const hex = (bytes: Buffer) => bytes.toString("hex");
const int32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
};
/** A PostgreSQL protocol message: type byte (none for the startup message), length, body. */
const message = (type: string, body: Buffer) => Buffer.concat([Buffer.from(type, "latin1"), int32(body.length + 4), body]);

/**
 * pg_auto_failover's role check, in PostgreSQL's own wire protocol (HAProxy's tcp-check, no process
 * started per check): log in as the check role (protocol 3.0, trust), wait for ReadyForQuery, ask
 * `select pg_is_in_recovery()`, and expect the DataRow that says f (the writer wants a primary) or
 * t (the reader a standby).
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
/** RowDescription of `select pg_is_in_recovery()`: type, length, field count, "pg_is_in_recovery\0", then 18 bytes of the field's table, column, type, size, modifier and format. */
const ROW_DESCRIPTION_BYTES = 1 + 4 + 2 + "pg_is_in_recovery".length + 1 + 18;

export function roleCheckLines(want: "primary" | "replica"): string[] {
  const startup = message("", Buffer.concat([int32(196608), Buffer.from(`user\0${CHECK_ROLE}\0database\0postgres\0\0`, "latin1")]));
  const query = message("Q", Buffer.from("select pg_is_in_recovery()\0", "latin1"));
  // DataRow: one column, one byte long, "f" or "t".
  const row = message("D", Buffer.concat([Buffer.from([0, 1]), int32(1), Buffer.from(want === "primary" ? "f" : "t", "latin1")]));
  const ready = Buffer.from("5a0000000549", "hex"); // ReadyForQuery, idle
  return [
    "  option tcp-check",
    "  tcp-check connect",
    `  tcp-check send-binary ${hex(startup)}`,
    `  tcp-check expect binary ${hex(ready)}`,
    `  tcp-check send-binary ${hex(query)}`,
    // Matched once the RowDescription and the DataRow are in (min-recv), so a server in the other
    // role fails the check at once rather than at its timeout.
    `  tcp-check expect min-recv ${ROW_DESCRIPTION_BYTES + row.length} binary ${hex(row)}`,
    `  tcp-check send-binary ${hex(message("X", Buffer.alloc(0)))}`,
  ];
}

/** The proxy's entrypoint: the configuration (and the role check) written, then HAProxy in the foreground as PID 1. */
export function proxyEntrypoint(manager: HaManager, nodes: readonly string[]): string[] {
  const lines: string[] = [
    "set -e",
    "command -v haproxy >/dev/null || { echo 'repl-lab: this image has no haproxy: build one with `repl-lab image build --pg 17 --ha`' >&2; exit 127; }",
    "cat > /tmp/haproxy.cfg <<'HAPROXY_CFG'",
    haproxyConfig(manager, nodes),
    "HAPROXY_CFG",
  ];
  lines.push("exec haproxy -W -db -f /tmp/haproxy.cfg");
  return ["bash", "-c", lines.join("\n"), "repl-lab-proxy"];
}

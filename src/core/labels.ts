// Every container, volume and network repl-lab creates carries these labels: they are the lab's state.
import type { Role } from "./constants.js";
import { UsageError } from "./errors.js";

export const LABEL = {
  lab: "repl-lab.lab",
  node: "repl-lab.node",
  role: "repl-lab.role",
  /** The node's fixed port on the host, chosen at `up`, so its URL survives a stop and start. */
  hostPort: "repl-lab.host-port",
  /** "true" when the followers stream through replication slots. */
  slots: "repl-lab.slots",
  /**
   * HA mode: "patroni" or "pg_auto_failover" on a PostgreSQL node run by that manager, "etcd" on an
   * etcd member, "monitor" on pg_auto_failover's monitor, "proxy" on the HA proxy.
   */
  ha: "repl-lab.ha",
  /** Set on everything repl-lab creates, so `ls` and test cleanup can find every lab. */
  managed: "repl-lab.managed",
  /** A one-off helper's deadline (ms since the epoch): one still there after it was left by a command that died. */
  expires: "repl-lab.expires",
  /** On the lab's partition marker: the cut in force (core/partition.ts), as JSON. */
  partition: "repl-lab.partition",
  /** A lab across engines: on each of its containers and volumes, the name of the host it is on. */
  host: "repl-lab.host",
  /** On a lab's hosts record (core/hosts.ts): its hosts and their engine URLs, as JSON. */
  hosts: "repl-lab.hosts",
  /** On a lab's hosts record: the members placed by hand, as JSON. */
  place: "repl-lab.place",
} as const;

/**
 * The role label of a lab's hosts record: a volume on the engine repl-lab talks to by default
 * (DOCKER_HOST), holding nothing, whose labels name the engines the lab runs on. It is how every
 * later command finds the lab's parts on every host.
 */
export const HOSTS_ROLE = "hosts";

/** The role label of an HA lab's etcd members, which are containers of the lab but not PostgreSQL nodes. */
export const ETCD_ROLE = "etcd";
/** The role labels of pg_auto_failover's monitor and of the HA proxy (HAProxy): members of the lab, not replication nodes. */
export const MONITOR_ROLE = "monitor";
export const PROXY_ROLE = "proxy";

/** Containers created for a check or a one-off job (not part of the lab's topology) carry this as their node label. */
export const CHECK_NODE = "_check";

/**
 * The node label of a lab's partition marker: a container created and never started, whose labels
 * hold the cut in force, so that the cut is part of the lab's state in the engine like the rest.
 */
export const PARTITION_NODE = "_partition";

export function labLabels(lab: string): Record<string, string> {
  return { [LABEL.managed]: "true", [LABEL.lab]: lab };
}

/** Labels of a one-off helper container of the lab (a check, pg_rewind) that must be done within `timeoutMs`. */
export function helperLabels(lab: string, timeoutMs: number, now = Date.now()): Record<string, string> {
  return { ...labLabels(lab), [LABEL.node]: CHECK_NODE, [LABEL.expires]: String(now + timeoutMs) };
}

export function nodeLabels(lab: string, node: string, role: Role): Record<string, string> {
  return { ...labLabels(lab), [LABEL.node]: node, [LABEL.role]: role };
}

/** Docker's own names for a lab's objects. */
export const names = {
  network: (lab: string) => `repl-lab-${lab}`,
  container: (lab: string, node: string) => `repl-lab-${lab}-${node}`,
  volume: (lab: string, node: string) => `repl-lab-${lab}-${node}-data`,
  partitionMarker: (lab: string) => `repl-lab-${lab}-partition`,
  hostsRecord: (lab: string) => `repl-lab-${lab}-hosts`,
};

/** A lab's name: it goes into container, volume and network names and the engine API's paths. */
export const LAB_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;
export const LAB_NAME_RULE = "must be 1-40 characters: lower-case letters, digits, - and _, starting with a letter or digit";

/** The name, when it is one a lab can have; a UsageError naming it otherwise (every door checks names here). */
export function checkLabName(lab: string): string {
  if (typeof lab !== "string" || !LAB_NAME_PATTERN.test(lab)) throw new UsageError(`lab name ${JSON.stringify(lab)}: ${LAB_NAME_RULE}`, { hint: "list labs with `repl-lab ls`" });
  return lab;
}

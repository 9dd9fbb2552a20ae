// One topology model for every way a lab is described: CLI flags and lab files share this schema.
import * as z from "zod";
import { DEFAULT_FOLLOWERS, DEFAULT_LAB, HA_MANAGERS, type HaManager, LEADER, MAX_FOLLOWERS, SYNC_COMMIT_LEVELS, type Role, type SyncCommit } from "./constants.js";
import { parseDuration } from "./duration.js";
import { UsageError } from "./errors.js";
import { LAB_NAME_PATTERN, LAB_NAME_RULE } from "./labels.js";
import { parseSyncSpec, SyncSpecError, type SyncSpec } from "./sync-spec.js";
import { haSyncFromSpec, LAB_HA_DEFAULTS, PATRONI_DEFAULTS, type HaSpec } from "./ha.js";
import { AUTO_FAILOVER_DEFAULTS, autoFailoverSyncFromSpec, LAB_AUTO_FAILOVER_DEFAULTS, type AutoFailoverSpec } from "./auto-failover.js";
import { parseSize } from "./size.js";
import { checkHosts, parseHostFlag, type LabHosts } from "./hosts.js";

export { HA_MANAGERS, LEADER, MAX_FOLLOWERS, SYNC_COMMIT_LEVELS, type HaManager, type Role, type SyncCommit };

function followerName(index: number): string {
  return `standby${index}`;
}

/** Settings that have their own flag (or that repl-lab itself must own); `-c` may not set them. */
const MANAGED_SETTINGS: Record<string, string> = {
  synchronous_standby_names: "use --sync",
  synchronous_commit: "use --sync-commit",
  wal_sender_timeout: "use --wal-sender-timeout",
  primary_conninfo: "repl-lab writes it when a follower is bootstrapped",
  primary_slot_name: "use --no-slots to run without replication slots",
  cluster_name: "repl-lab names each node",
  listen_addresses: "repl-lab publishes each node on 127.0.0.1",
  port: "use --port for host ports",
  data_directory: "repl-lab owns the data directory",
  hba_file: "repl-lab writes pg_hba.conf",
  config_file: "repl-lab writes the configuration",
  wal_level: "replication needs wal_level=replica or higher; repl-lab sets it",
  wal_keep_size: "repl-lab keeps WAL with replication slots, or with wal_keep_size under --no-slots",
};

const SETTING_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

/** Accepts a number written as digits in a string (as flags arrive) but not "two" or "1.5". */
function wholeNumber(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.preprocess(
    (value) => (typeof value === "string" && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value),
    z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message }),
  );
}

/** Whole seconds, as Patroni takes them; "20s" or 20. */
function seconds(min: number, max: number) {
  const message = `must be a whole number of seconds from ${min} to ${max}, such as "${min}s"`;
  return z.union([z.number(), z.string()]).transform((value, context) => {
    const ms = typeof value === "number" ? value * 1000 : parseDuration(/^\s*\d+\s*$/.test(value) ? `${value}s` : value);
    if (ms === undefined || ms % 1000 !== 0 || ms < min * 1000 || ms > max * 1000) {
      context.addIssue({ code: "custom", message });
      return z.NEVER;
    }
    return ms / 1000;
  });
}

const settingValue = z.union([z.string(), z.number(), z.boolean()]).transform((value) => {
  if (typeof value === "boolean") return value ? "on" : "off";
  return String(value);
});

/** The lab file's shape; flags fill the same fields. */
const LabSpecSchema = z
  .object({
    lab: z
      .string()
      .regex(LAB_NAME_PATTERN, { error: LAB_NAME_RULE })
      .default(DEFAULT_LAB),
    image: z.string().min(1, { error: "must not be empty" }).optional(),
    followers: wholeNumber(1, MAX_FOLLOWERS).default(DEFAULT_FOLLOWERS),
    sync: z.string().optional(),
    syncCommit: z
      .enum(SYNC_COMMIT_LEVELS, { error: `must be one of ${SYNC_COMMIT_LEVELS.join(", ")}` })
      .default("on"),
    slots: z.boolean().default(true),
    walSenderTimeout: z
      .string()
      .regex(/^\d+\s*(ms|s|min|h)?$/, { error: 'must be a duration such as "5s", "500ms" or "1min"' })
      .optional(),
    /** One-way latency on every follower's replication link, e.g. "20ms" (a number is milliseconds). */
    networkDelay: z
      .union([z.number(), z.string()])
      .transform((value, context) => {
        const ms = typeof value === "number" ? value : parseDuration(value);
        if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > 60_000) {
          context.addIssue({ code: "custom", message: 'must be a duration from 0 to 60s, such as "20ms" or "0.5s"' });
          return z.NEVER;
        }
        return ms;
      })
      .optional(),
    settings: z.record(z.string(), settingValue).default({}),
    port: wholeNumber(1024, 65535 - MAX_FOLLOWERS).optional(),
    /** Patroni runs each node and fails over by itself, with three etcd members as its store. */
    ha: z.boolean().default(false),
    /** Patroni's own settings (HA mode); each left out takes the lab's default, or Patroni's with patroniDefaults. */
    ttl: seconds(20, 3600).optional(),
    loopWait: seconds(1, 600).optional(),
    retryTimeout: seconds(3, 600).optional(),
    maximumLagOnFailover: z
      .union([z.number(), z.string()])
      .transform((value, context) => {
        const bytes = typeof value === "number" ? value : parseSize(value);
        if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) {
          context.addIssue({ code: "custom", message: 'must be a size such as "1MB" or "16MB"' });
          return z.NEVER;
        }
        return bytes;
      })
      .optional(),
    syncMode: z.enum(["off", "on", "strict", "quorum"], { error: "must be one of off, on, strict, quorum" }).optional(),
    patroniDefaults: z.boolean().default(false),
    /** Which HA manager runs the nodes (HA mode): Patroni with etcd, or pg_auto_failover with a monitor. */
    manager: z.enum(HA_MANAGERS, { error: `must be one of ${HA_MANAGERS.join(", ")}` }).optional(),
    /** The HA manager's own default timings rather than the lab's fastest. */
    managerDefaults: z.boolean().default(false),
    /** An HAProxy container with a writer port that follows the leader and a reader port over the replicas (HA mode). */
    proxy: z.boolean().default(false),
    /** A lab across engines: its hosts, each "NAME=ENGINE_URL" or { name, url } (core/hosts.ts). */
    hosts: z
      .array(z.union([z.string().transform((flag) => parseHostFlag(flag)), z.object({ name: z.string(), url: z.string() }).strict()]))
      .optional(),
    /** Members placed on a host by hand: { standby2: b }; the rest go round-robin. */
    place: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export type LabSpecInput = z.input<typeof LabSpecSchema>;

export interface NodeSpec {
  name: string;
  role: Role;
  /** Host port on 127.0.0.1; undefined lets Docker choose a free one. */
  hostPort: number | undefined;
}

export interface Topology {
  lab: string;
  image: string | undefined;
  nodes: NodeSpec[];
  followers: string[];
  sync: SyncSpec | null;
  syncCommit: SyncCommit;
  slots: boolean;
  walSenderTimeout: string | undefined;
  /** One-way latency in ms on every follower's replication link (the userspace link delay). */
  networkDelayMs: number | undefined;
  settings: Record<string, string>;
  /** HA mode: which manager runs the nodes; undefined for a lab repl-lab manages itself. */
  manager: HaManager | undefined;
  /** HA mode with Patroni: its settings. */
  ha: HaSpec | undefined;
  /** HA mode with pg_auto_failover: its settings and the sync spec mapped. */
  autoFailover: AutoFailoverSpec | undefined;
  /** HA mode: an HAProxy container whose writer port follows the leader. */
  proxy: boolean;
  /** A lab across engines: its hosts and where its members run; undefined for a lab on one engine. */
  hosts: LabHosts | undefined;
}

/** Every member of a lab: its PostgreSQL nodes, and in HA mode etcd's members, the monitor, the proxy. */
export function membersOf(topology: Pick<Topology, "nodes" | "manager" | "proxy">): string[] {
  return [
    ...topology.nodes.map((node) => node.name),
    ...(topology.manager === "patroni" ? ["etcd1", "etcd2", "etcd3"] : []),
    ...(topology.manager === "pg_auto_failover" ? ["monitor"] : []),
    ...(topology.proxy ? ["proxy"] : []),
  ];
}

function invalid(message: string): UsageError {
  return new UsageError(message, { hint: "see `repl-lab up --help`" });
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.join(".");
  if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** Validates a lab description and computes the nodes it has. Throws a UsageError naming the field. */
export function buildTopology(input: unknown): Topology {
  const parsed = LabSpecSchema.safeParse(input);
  if (!parsed.success) {
    throw invalid(parsed.error.issues.map(formatIssue).join("; "));
  }
  const spec = parsed.data;
  for (const name of Object.keys(spec.settings)) {
    if (!SETTING_NAME.test(name)) throw invalid(`settings: "${name}" is not a PostgreSQL setting name`);
    const managed = MANAGED_SETTINGS[name];
    if (managed) throw invalid(`settings: ${name} cannot be set with -c (${managed})`);
  }
  for (const [name, value] of Object.entries(spec.settings)) {
    if (/[\n\r\0]/.test(value)) throw invalid(`settings: ${name} has a line break in its value`);
  }
  const followers = Array.from({ length: spec.followers }, (_, index) => followerName(index + 1));
  let sync: SyncSpec | null = null;
  if (spec.sync !== undefined) {
    try {
      sync = parseSyncSpec(spec.sync, followers);
    } catch (error) {
      if (error instanceof SyncSpecError) throw invalid(`sync: ${error.message}`);
      throw error;
    }
  }
  const manager: HaManager | undefined = spec.ha ? (spec.manager ?? "patroni") : undefined;
  if (!spec.ha) {
    const haOnly: string[] = (["manager", "ttl", "loopWait", "retryTimeout", "maximumLagOnFailover", "syncMode"] as const).filter((key) => spec[key] !== undefined);
    if (spec.patroniDefaults) haOnly.push("patroniDefaults");
    if (spec.managerDefaults) haOnly.push("managerDefaults");
    if (spec.proxy) haOnly.push("proxy");
    if (haOnly.length > 0) throw invalid(`${haOnly.join(", ")}: needs ha (--ha)`);
  }
  if (manager === "pg_auto_failover") {
    const patroniOnly: string[] = (["ttl", "loopWait", "retryTimeout", "maximumLagOnFailover", "syncMode"] as const).filter((key) => spec[key] !== undefined);
    if (spec.patroniDefaults) patroniOnly.push("patroniDefaults");
    if (patroniOnly.length > 0) throw invalid(`${patroniOnly.join(", ")}: Patroni's settings; this lab runs pg_auto_failover (use --manager-defaults for its own timings)`);
    // pg_autoctl writes primary_conninfo, the slots and its own postgresql-auto-failover.conf.
    const owned: string[] = [];
    if (spec.networkDelay !== undefined) owned.push("networkDelay");
    if (Object.keys(spec.settings).length > 0) owned.push("settings (-c)");
    if (spec.walSenderTimeout !== undefined) owned.push("walSenderTimeout");
    if (!spec.slots) owned.push("slots (--no-slots)");
    if (spec.syncCommit !== "on") owned.push("syncCommit");
    if (owned.length > 0) throw invalid(`${owned.join(", ")}: not available with pg_auto_failover yet (pg_autoctl writes the replication settings itself); use --manager patroni`);
  }
  const ha = manager === "patroni" ? haSpec({ ...spec, patroniDefaults: spec.patroniDefaults || spec.managerDefaults }, sync, followers) : undefined;
  let autoFailover: AutoFailoverSpec | undefined;
  if (manager === "pg_auto_failover") {
    try {
      autoFailover = { settings: spec.managerDefaults ? AUTO_FAILOVER_DEFAULTS : LAB_AUTO_FAILOVER_DEFAULTS, sync: autoFailoverSyncFromSpec(sync, followers) };
    } catch (error) {
      if (error instanceof UsageError) throw invalid(error.message);
      throw error;
    }
  }
  const port = spec.port;
  const nodes: NodeSpec[] = [
    { name: LEADER, role: "primary", hostPort: port },
    ...followers.map((name, index) => ({
      name,
      role: "standby" as const,
      hostPort: port === undefined ? undefined : port + index + 1,
    })),
  ];
  if (spec.place && !spec.hosts) throw invalid("place: needs hosts (--host)");
  const members = membersOf({ nodes, manager, proxy: spec.proxy });
  const hosts = spec.hosts ? checkHosts(spec.hosts, spec.place ?? {}, members) : undefined;
  return {
    lab: spec.lab,
    image: spec.image,
    nodes,
    followers,
    sync,
    syncCommit: spec.syncCommit,
    slots: spec.slots,
    walSenderTimeout: spec.walSenderTimeout,
    networkDelayMs: spec.networkDelay,
    settings: spec.settings,
    manager,
    ha,
    autoFailover,
    proxy: spec.proxy,
    hosts,
  };
}

type ParsedSpec = z.output<typeof LabSpecSchema>;

function haSpec(spec: ParsedSpec, sync: SyncSpec | null, followers: string[]): HaSpec {
  if (spec.syncMode === "quorum" && sync && sync.method === "FIRST") throw invalid('syncMode: quorum is ANY n; write the sync spec as "ANY n (…)" or leave --sync-mode out');
  if ((spec.syncMode === "on" || spec.syncMode === "strict") && sync?.method === "ANY") throw invalid(`syncMode: ${spec.syncMode} is FIRST n; write the sync spec as "FIRST n (…)", or use --sync-mode quorum`);
  if (spec.syncMode !== undefined && spec.syncMode !== "off" && !sync && followers.length === 0) throw invalid("syncMode: needs a follower");
  if (spec.syncMode === "off" && sync) throw invalid("syncMode: off contradicts --sync; leave one out");
  const defaults = spec.patroniDefaults ? PATRONI_DEFAULTS : LAB_HA_DEFAULTS;
  const ttl = spec.ttl ?? defaults.ttl;
  const loopWait = spec.loopWait ?? defaults.loop_wait;
  const retryTimeout = spec.retryTimeout ?? defaults.retry_timeout;
  // Patroni's rule: a leader must get through a loop and two retries before its lock expires.
  if (loopWait + 2 * retryTimeout > ttl) {
    throw invalid(`ttl: ${ttl}s is less than loop_wait + 2 × retry_timeout (${loopWait}s + 2 × ${retryTimeout}s), which Patroni requires`);
  }
  return {
    ttl,
    loop_wait: loopWait,
    retry_timeout: retryTimeout,
    maximum_lag_on_failover: spec.maximumLagOnFailover ?? defaults.maximum_lag_on_failover,
    ...haSyncFromSpec(sync, followers, spec.syncMode),
  };
}

/** Parses repeated `-c name=value` flags into a settings record. */
export function parseSettingFlags(flags: readonly string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const flag of flags) {
    const match = /^\s*([^=\s]+)\s*=(.*)$/.exec(flag);
    if (!match) throw invalid(`-c ${flag}: expected name=value, e.g. -c max_connections=200`);
    const [, name = "", value = ""] = match;
    settings[name] = value.trim();
  }
  return settings;
}

// What repl-lab asks of Patroni's REST API and etcd's v3 JSON gateway, as interfaces: the HTTP
// implementation (ha/http.ts) is the only code that speaks to them; unit tests hand in a fake.
// Every method returns a typed answer or throws HaApiError naming the member; none turns a failure
// into a missing value, so a caller that wants "the first member that answers" says so, and why
// each of the others did not.
// https://patroni.readthedocs.io/en/latest/rest_api.html  https://etcd.io/docs/v3.5/dev-guide/api_grpc_gateway/
import { LabError, type ErrorOptions } from "./errors.js";

/** Where one member's API is reached from this process. */
export interface HaEndpoint {
  /** The node or etcd member's name, for errors. */
  member: string;
  host: string;
  port: number;
  /** Patroni's REST API user (basic authentication) or etcd's user; none for a lab made without them. */
  credentials?: { username: string; password: string };
}

/** One member as Patroni's GET /cluster reports it. */
export interface PatroniClusterMember {
  name: string;
  /** leader, standby_leader, replica, sync_standby, quorum_standby. */
  role: string;
  /** running, streaming, stopped, starting, … */
  state: string;
  timeline?: number;
  /** Bytes behind the leader; Patroni says "unknown" when it cannot tell. */
  lag?: number | string;
  tags?: { nosync?: boolean; [tag: string]: unknown };
}

export interface PatroniCluster {
  members: PatroniClusterMember[];
}

/** Patroni's dynamic configuration (GET /config), as far as repl-lab reads it. */
export interface PatroniDynamicConfig {
  ttl?: number;
  loop_wait?: number;
  retry_timeout?: number;
  synchronous_mode?: boolean | "quorum";
  synchronous_node_count?: number;
  [key: string]: unknown;
}

export interface PatroniClient {
  readonly member: string;
  /** GET /cluster: every member, as this member's Patroni sees the cluster. */
  cluster(): Promise<PatroniCluster>;
  /** GET /config. */
  config(): Promise<PatroniDynamicConfig>;
  /** PATCH /config: Patroni keeps it in etcd and applies it on every member; resolves the configuration now in force. */
  patchConfig(change: Record<string, unknown>): Promise<PatroniDynamicConfig>;
  /** POST /switchover: resolves Patroni's own words once the new leader is elected. */
  switchover(request: { leader: string; candidate: string }): Promise<string>;
  /** POST /failover. */
  failover(request: { candidate: string }): Promise<string>;
  /** POST /reinitialize on this member: a new base backup from the leader. */
  reinitialize(request: { force: boolean }): Promise<string>;
}

/** One etcd member's own status (maintenance/status); ids as etcd prints them (hex). */
export interface EtcdStatus {
  member_id: string;
  /** The Raft leader this member believes in; null when it knows none. */
  leader: string | null;
  raft_term: number;
  raft_index: number;
}

export interface EtcdMemberEntry {
  id: string;
  name: string;
}

export interface EtcdValue {
  /** The key's value as text; null when there is no such key. */
  value: string | null;
  revision: number;
}

export interface EtcdClient {
  readonly member: string;
  /** POST /v3/maintenance/status. */
  status(): Promise<EtcdStatus>;
  /** POST /v3/cluster/member/list. */
  memberList(): Promise<EtcdMemberEntry[]>;
  /** POST /v3/kv/range of one key. */
  get(key: string): Promise<EtcdValue>;
}

/** How a Runtime reaches Patroni, etcd and the HA proxy: the HTTP clients, or a fake in unit tests. */
export interface HaClients {
  patroni(endpoint: HaEndpoint): PatroniClient;
  etcd(endpoint: HaEndpoint): EtcdClient;
  /** HAProxy's statistics page as CSV (GET /stats;csv). */
  proxyStats(endpoint: HaEndpoint): Promise<string>;
}

/**
 * A member's API failed: "unreachable" (no answer: refused connection, reset, timeout), "refused"
 * (an HTTP answer other than success, e.g. Patroni's 412 for a candidate it will not promote), or
 * "bad-answer" (a success whose body is not what the API documents).
 */
export type HaFailureKind = "unreachable" | "refused" | "bad-answer";

export class HaApiError extends LabError {
  /** The failure without the member's name: "refused POST /switchover: … (HTTP 412)". */
  readonly reason: string;

  constructor(
    readonly service: "Patroni" | "etcd" | "HAProxy",
    readonly member: string,
    readonly request: string,
    readonly kind: HaFailureKind,
    /** What went wrong, in the service's own words when it answered. */
    readonly said: string,
    readonly status?: number,
    options: ErrorOptions = {},
  ) {
    const reason =
      kind === "unreachable"
        ? `did not answer ${request}: ${said}`
        : kind === "refused"
          ? `refused ${request}: ${said} (HTTP ${status})`
          : `gave an unreadable answer to ${request}: ${said}`;
    super(`${member}'s ${service} ${reason}`, { hint: "see `repl-lab status`", ...options });
    this.reason = reason;
  }
}

/** Why one member was not (or could not be) asked, or how its API failed. */
export interface MemberFailure {
  member: string;
  why: string;
}

/** No member's API answered: each member's reason is in `failures` (and the details). */
export class NobodyAnsweredError extends LabError {
  constructor(
    readonly service: "Patroni" | "etcd",
    readonly failures: MemberFailure[],
    what: string,
    options: ErrorOptions = {},
  ) {
    super(`no ${service === "Patroni" ? "node's Patroni" : "etcd member"} answered ${what}`, {
      details: failures.map((failure) => `${failure.member}: ${failure.why}`),
      hint: "see `repl-lab status`",
      ...options,
    });
  }
}

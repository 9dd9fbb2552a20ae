// Labs across engines: a lab's hosts (Docker engines of one swarm), where each of its members runs,
// and how that is written in the lab's labels. Pure: engine/hosts.ts routes the engine calls by it.
import { UsageError } from "./errors.js";

export interface LabHost {
  /** a, b, c … as the user named it: in `--place`, `host down`, status. */
  name: string;
  /** The engine, as DOCKER_HOST takes it: unix:///path, tcp://host:port, ssh://user@host. */
  url: string;
}

export interface LabHosts {
  hosts: LabHost[];
  /** Members placed by hand (`--place standby2=b`); the rest go round-robin (placeMember). */
  place: Record<string, string>;
}

export const HOST_NAME_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
export const HOST_NAME_RULE = "must be 1-20 characters: lower-case letters, digits and -, starting with a letter";
const ENGINE_URL = /^(unix:\/\/\/\S+|(tcp|https?):\/\/[^\s/]+(:\d+)?\/?|ssh:\/\/[^\s/]+)$/;

function usage(message: string): UsageError {
  return new UsageError(message, { hint: "write each host as NAME=ENGINE_URL, e.g. --host a=tcp://10.0.0.5:2375 --host b=ssh://me@db2" });
}

/** `--host a=tcp://10.0.0.5:2375` as a host. */
export function parseHostFlag(flag: string): LabHost {
  const at = flag.indexOf("=");
  if (at <= 0) throw usage(`--host ${JSON.stringify(flag)}: expected NAME=ENGINE_URL`);
  return { name: flag.slice(0, at).trim(), url: flag.slice(at + 1).trim() };
}

/** `--place standby2=b` as one entry of a placement. */
export function parsePlaceFlag(flag: string): [string, string] {
  const at = flag.indexOf("=");
  if (at <= 0) throw new UsageError(`--place ${JSON.stringify(flag)}: expected MEMBER=HOST`, { hint: "e.g. --place standby2=b" });
  return [flag.slice(0, at).trim(), flag.slice(at + 1).trim()];
}

/** Checks a lab's hosts and placement against its members; a UsageError names what is wrong. */
export function checkHosts(hosts: LabHost[], place: Record<string, string>, members: readonly string[]): LabHosts {
  if (hosts.length === 0) throw usage("hosts: give at least one host");
  const seen = new Set<string>();
  const urls = new Set<string>();
  for (const host of hosts) {
    if (!HOST_NAME_PATTERN.test(host.name)) throw usage(`host name ${JSON.stringify(host.name)}: ${HOST_NAME_RULE}`);
    if (!ENGINE_URL.test(host.url)) throw usage(`host ${host.name}: ${JSON.stringify(host.url)} is not an engine URL (unix:///path, tcp://host:port or ssh://user@host)`);
    if (seen.has(host.name)) throw usage(`host ${host.name} is given twice`);
    if (urls.has(host.url)) throw usage(`hosts: ${host.url} is given twice; each host is its own engine`);
    seen.add(host.name);
    urls.add(host.url);
  }
  for (const [member, host] of Object.entries(place)) {
    if (!members.includes(member)) throw new UsageError(`--place ${member}=${host}: this lab has no member ${member}`, { hint: `its members are ${members.join(", ")}` });
    if (!seen.has(host)) throw new UsageError(`--place ${member}=${host}: no host is named ${host}`, { hint: `its hosts are ${hosts.map((entry) => entry.name).join(", ")}` });
  }
  return { hosts, place };
}

/**
 * The host a member of the lab runs on: where `--place` put it, else round-robin: leader on the
 * first host, standbyN on host N (mod the count), etcdN on host N-1, so that members of a kind
 * spread; pg_auto_failover's monitor and the proxy on the last host, away from the leader, so that
 * losing the leader's machine leaves the lab's judge and its front door standing. Anything else (a
 * one-off helper) on the first host.
 */
export function placeMember(member: string, lab: LabHosts): string {
  const { hosts, place } = lab;
  const explicit = place[member];
  if (explicit) return explicit;
  const at = (index: number) => hosts[((index % hosts.length) + hosts.length) % hosts.length]!.name;
  if (member === "leader") return at(0);
  const standby = /^standby(\d+)$/.exec(member);
  if (standby) return at(Number(standby[1]));
  const etcd = /^etcd(\d+)$/.exec(member);
  if (etcd) return at(Number(etcd[1]) - 1);
  if (member === "monitor" || member === "proxy") return at(hosts.length - 1);
  return at(0);
}

/** The address a host's published ports are reached at: the engine URL's host; a local socket's is loopback. */
export function hostAddress(url: string): string {
  if (url.startsWith("unix://")) return "127.0.0.1";
  try {
    const parsed = new URL(url.replace(/^tcp:/, "http:"));
    return parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  } catch {
    return "127.0.0.1";
  }
}

/** The hosts and placement as label values (the lab's record: engine/hosts.ts). */
export function encodeHosts(lab: LabHosts): { hosts: string; place: string } {
  return { hosts: JSON.stringify(lab.hosts.map((host) => [host.name, host.url])), place: JSON.stringify(lab.place) };
}

/** Undefined when the labels do not hold a readable record. */
export function decodeHosts(hosts: string | undefined, place: string | undefined): LabHosts | undefined {
  try {
    const list = JSON.parse(hosts ?? "") as unknown;
    const placed = JSON.parse(place ?? "{}") as unknown;
    if (!Array.isArray(list) || typeof placed !== "object" || placed === null) return undefined;
    const parsed = list.map((entry) => (Array.isArray(entry) && typeof entry[0] === "string" && typeof entry[1] === "string" ? { name: entry[0], url: entry[1] } : undefined));
    if (parsed.length === 0 || parsed.some((entry) => entry === undefined)) return undefined;
    return { hosts: parsed as LabHost[], place: placed as Record<string, string> };
  } catch {
    return undefined;
  }
}

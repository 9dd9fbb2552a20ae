// Partitions by packet filter: which lab members cannot reach which, and the nftables rules that
// make it so inside each member's network namespace. Pure: no engine here (lab/partition.ts runs
// the rules). A cut drops packets between groups of members; Docker's DNS (127.0.0.11, loopback
// in the member's namespace) and the host's clients (they arrive from the network's gateway
// through the published ports) are untouched, as in the network partitions Jepsen's nemesis makes.
import { UsageError } from "./errors.js";

/** A cut: two or more groups of members, each group unable to reach the others (or, one-way, the first unable to reach the second). */
export interface PartitionMap {
  groups: string[][];
  /** The first group's packets to the second are dropped; the second's to the first still go. */
  one_way: boolean;
}

/** The nftables table every rule lives in: removing it is the whole heal. */
export const NFT_TABLE = "repl_lab_partition";

/**
 * Parses `--groups "leader,etcd1 | standby1,standby2"`: groups split by `|`, members by `,`.
 * In a lab across engines `host:a` stands for every member on host a (`onHost`), so that
 * `--groups "host:a | host:b,host:c"` cuts machine a from the others.
 * Every name must be a member of the lab, appear once, and every group must be non-empty.
 */
export function parseGroups(text: string, members: readonly string[], onHost: Record<string, string[]> = {}): string[][] {
  const groups = text.split("|").map((group) =>
    group
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "")
      .flatMap((name) => {
        if (!name.startsWith("host:")) return [name];
        const host = name.slice("host:".length);
        const on = onHost[host];
        if (!on) {
          const hosts = Object.keys(onHost);
          throw new UsageError(`--groups names ${name}, which is not a host of the lab`, { hint: hosts.length > 0 ? `its hosts are ${hosts.join(", ")}` : "this lab runs on one engine: name its members" });
        }
        return on;
      }),
  );
  const hint = `write the groups as --groups "leader,etcd1 | standby1,standby2": members of the lab (${members.join(", ")}), each in one group`;
  if (groups.length < 2) throw new UsageError(`--groups needs at least two groups split by "|", got ${JSON.stringify(text)}`, { hint });
  if (groups.some((group) => group.length === 0)) throw new UsageError(`--groups has an empty group in ${JSON.stringify(text)}`, { hint });
  const seen = new Set<string>();
  for (const name of groups.flat()) {
    if (!members.includes(name)) throw new UsageError(`--groups names ${name}, which is not a member of the lab`, { hint });
    if (seen.has(name)) throw new UsageError(`--groups names ${name} twice`, { hint });
    seen.add(name);
  }
  return groups;
}

/** `partition <node>`: the node against every other member of the lab. */
export function nodeAgainstTheRest(node: string, members: readonly string[]): string[][] {
  return [[node], members.filter((member) => member !== node)];
}

/** Whose packets each member drops: from (input) and to (output) these members. */
export interface MemberRules {
  dropFrom: string[];
  dropTo: string[];
}

/**
 * The rules of each member the map names. Both ends of a cut drop (a packet is stopped at the
 * sender and, should one get out, at the receiver). One-way: members of the first group drop what
 * they send to the second, and members of the second drop what comes from the first; the second
 * group's packets to the first still arrive (TCP from the second group still fails: the replies
 * cannot come back, as with Jepsen's one-way partitions).
 */
export function memberRules(map: PartitionMap): Map<string, MemberRules> {
  const rules = new Map<string, MemberRules>();
  const of = (member: string) => {
    let entry = rules.get(member);
    if (!entry) rules.set(member, (entry = { dropFrom: [], dropTo: [] }));
    return entry;
  };
  for (const group of map.groups) for (const member of group) of(member);
  if (map.one_way) {
    const [first = [], second = []] = map.groups;
    for (const member of first) of(member).dropTo.push(...second);
    for (const member of second) of(member).dropFrom.push(...first);
    return rules;
  }
  map.groups.forEach((group, index) => {
    const others = map.groups.filter((_, other) => other !== index).flat();
    for (const member of group) {
      of(member).dropFrom.push(...others);
      of(member).dropTo.push(...others);
    }
  });
  return rules;
}

/**
 * One nft script that replaces the table atomically (nft applies a file as one transaction): the
 * `add table` makes the delete safe when there is none yet. Addresses are the members' current
 * addresses on the lab network; an empty set of rules leaves no table at all.
 */
export function nftScript(rules: { dropFrom: string[]; dropTo: string[] } | undefined): string {
  const lines = [`add table inet ${NFT_TABLE}`, `delete table inet ${NFT_TABLE}`];
  if (!rules || (rules.dropFrom.length === 0 && rules.dropTo.length === 0)) return `${lines.join("\n")}\n`;
  const set = (addresses: string[]) => `{ ${addresses.join(", ")} }`;
  lines.push(`table inet ${NFT_TABLE} {`);
  lines.push("  chain input {", "    type filter hook input priority 0; policy accept;");
  if (rules.dropFrom.length > 0) lines.push(`    ip saddr ${set(rules.dropFrom)} drop`);
  lines.push("  }", "  chain output {", "    type filter hook output priority 0; policy accept;");
  if (rules.dropTo.length > 0) lines.push(`    ip daddr ${set(rules.dropTo)} drop`);
  lines.push("  }", "}");
  return `${lines.join("\n")}\n`;
}

/** "leader | standby1, standby2, etcd1" or "leader -> standby1 (one-way)": the map as a person reads it. */
export function describeMap(map: PartitionMap): string {
  const text = map.groups.map((group) => group.join(", ")).join(" | ");
  return map.one_way ? `${text} (one-way: ${map.groups[0]!.join(", ")} cannot reach ${map.groups[1]!.join(", ")})` : text;
}

/** The map in a Docker label and back; anything unreadable is no map (the label is ours, but a person may edit a container). */
export function encodeMap(map: PartitionMap): string {
  return JSON.stringify(map);
}

export function decodeMap(text: string | undefined): PartitionMap | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<PartitionMap>;
    if (!Array.isArray(value.groups) || !value.groups.every((group) => Array.isArray(group) && group.every((name) => typeof name === "string"))) return undefined;
    return { groups: value.groups, one_way: value.one_way === true };
  } catch {
    return undefined;
  }
}

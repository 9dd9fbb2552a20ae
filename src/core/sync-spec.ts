// synchronous_standby_names, parsed, checked and rendered the way PostgreSQL reads it.
// https://www.postgresql.org/docs/current/runtime-config-replication.html#GUC-SYNCHRONOUS-STANDBY-NAMES
//   [FIRST] num_sync ( standby_name [, ...] )
//   ANY num_sync ( standby_name [, ...] )
//   standby_name [, ...]                      (same as FIRST 1 (...))

export type SyncMethod = "FIRST" | "ANY";

export interface SyncSpec {
  method: SyncMethod;
  /** num_sync: how many standbys a commit waits for. */
  num: number;
  /** Standby names in priority order; "*" matches every standby. */
  names: string[];
  /** false for the bare list form ("standby1, standby2"), which PostgreSQL reads as FIRST 1. */
  explicit: boolean;
}

export type SyncState = "sync" | "potential" | "quorum" | "async";

export class SyncSpecError extends Error {}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

function parseNameList(text: string, whole: string): string[] {
  const names = text.split(",").map((part) => part.trim());
  for (const name of names) {
    if (name === "") throw new SyncSpecError(`empty standby name in "${whole}"`);
    if (name !== "*" && !IDENTIFIER.test(name) && !/^"[^"]+"$/.test(name)) {
      throw new SyncSpecError(`"${name}" is not a standby name (in "${whole}")`);
    }
  }
  // PostgreSQL folds unquoted names to lower case and compares case-insensitively.
  return names.map((name) => (name.startsWith('"') ? name.slice(1, -1) : name.toLowerCase()));
}

/** Parses the text form; `standbys` are the lab's follower names, used to reject unknown names. */
export function parseSyncSpec(text: string, standbys: readonly string[]): SyncSpec {
  const whole = text.trim();
  if (whole === "") throw new SyncSpecError("the sync spec is empty (leave --sync out for asynchronous replication)");
  const explicitForm = /^(?:(FIRST|ANY)\s+)?(\S+?)\s*\(([^()]*)\)$/i.exec(whole);
  let spec: SyncSpec;
  if (explicitForm) {
    const [, method = "FIRST", numText = "", list = ""] = explicitForm;
    if (!/^\d+$/.test(numText)) throw new SyncSpecError(`"${numText}" is not a number of standbys (in "${whole}")`);
    spec = {
      method: method.toUpperCase() as SyncMethod,
      num: Number(numText),
      names: parseNameList(list, whole),
      explicit: true,
    };
  } else if (/[()]/.test(whole) || /^(FIRST|ANY)\b/i.test(whole)) {
    throw new SyncSpecError(`cannot read "${whole}": expected FIRST n (names), ANY n (names) or a list of names`);
  } else {
    spec = { method: "FIRST", num: 1, names: parseNameList(whole, whole), explicit: false };
  }
  checkSyncSpec(spec, standbys, whole);
  return spec;
}

function checkSyncSpec(spec: SyncSpec, standbys: readonly string[], whole: string): void {
  if (spec.num < 1) throw new SyncSpecError(`num_sync must be at least 1 (in "${whole}")`);
  const seen = new Set<string>();
  for (const name of spec.names) {
    if (seen.has(name)) throw new SyncSpecError(`${name} is listed twice (in "${whole}")`);
    seen.add(name);
    if (name !== "*" && !standbys.includes(name)) {
      throw new SyncSpecError(`unknown standby "${name}" (this lab has ${standbys.join(", ")})`);
    }
  }
  const available = spec.names.includes("*") ? standbys.length : spec.names.length;
  if (spec.num > available) {
    throw new SyncSpecError(
      `num_sync ${spec.num} is larger than the ${available} standby${available === 1 ? "" : "s"} it can choose from (in "${whole}")`,
    );
  }
}

/** The value for synchronous_standby_names; null (asynchronous) renders as ''. */
export function renderSyncSpec(spec: SyncSpec | null): string {
  if (spec === null) return "";
  const list = spec.names.join(", ");
  return spec.explicit ? `${spec.method} ${spec.num} (${list})` : list;
}

/** sync_priority as PostgreSQL assigns it (SyncRepGetStandbyPriority): 0 means asynchronous. */
export function syncPriority(spec: SyncSpec | null, standby: string): number {
  if (spec === null) return 0;
  const index = spec.names.findIndex((name) => name === "*" || name === standby.toLowerCase());
  if (index < 0) return 0;
  return spec.method === "ANY" ? 1 : index + 1;
}

export interface ReplicationRowState {
  application_name: string;
  sync_priority: number;
  sync_state: string;
}

/**
 * What pg_stat_replication should show once every standby is streaming. Standbys that share a
 * priority (as with "*") are interchangeable: PostgreSQL picks among them by walsender slot, so
 * only the number of sync/potential states within each priority group is predictable.
 */
export function expectedSyncStates(spec: SyncSpec | null, standbys: readonly string[]): ExpectedGroup[] {
  const byPriority = new Map<number, string[]>();
  for (const standby of standbys) {
    const priority = syncPriority(spec, standby);
    byPriority.set(priority, [...(byPriority.get(priority) ?? []), standby]);
  }
  const groups: ExpectedGroup[] = [];
  let syncLeft = spec?.num ?? 0;
  // Priority order, asynchronous standbys (priority 0) last.
  for (const priority of [...byPriority.keys()].sort((a, b) => Number(a === 0) - Number(b === 0) || a - b)) {
    const members = byPriority.get(priority) ?? [];
    const counts: Partial<Record<SyncState, number>> = {};
    if (priority === 0 || spec === null) {
      counts.async = members.length;
    } else if (spec.method === "ANY") {
      counts.quorum = members.length;
    } else {
      const sync = Math.min(syncLeft, members.length);
      syncLeft -= sync;
      if (sync > 0) counts.sync = sync;
      if (members.length - sync > 0) counts.potential = members.length - sync;
    }
    groups.push({ priority, members, counts });
  }
  return groups;
}

export interface ExpectedGroup {
  priority: number;
  members: string[];
  counts: Partial<Record<SyncState, number>>;
}

export function describeExpected(groups: readonly ExpectedGroup[]): string {
  return groups
    .map((group) => {
      const states = Object.entries(group.counts).map(([state, count]) =>
        group.members.length === 1 ? state : `${count} ${state}`,
      );
      return `${group.members.join("/")} ${states.join(" + ")} (priority ${group.priority})`;
    })
    .join(", ");
}

/** True when the rows show exactly the expected priorities and sync states. */
export function matchesExpected(groups: readonly ExpectedGroup[], rows: readonly ReplicationRowState[]): boolean {
  for (const group of groups) {
    const counts: Record<string, number> = {};
    for (const member of group.members) {
      const row = rows.find((candidate) => candidate.application_name === member);
      if (!row || row.sync_priority !== group.priority) return false;
      counts[row.sync_state] = (counts[row.sync_state] ?? 0) + 1;
    }
    const expected = Object.entries(group.counts).filter(([, count]) => (count ?? 0) > 0);
    if (Object.keys(counts).length !== expected.length) return false;
    if (!expected.every(([state, count]) => counts[state] === count)) return false;
  }
  return true;
}

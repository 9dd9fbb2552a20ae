// repl-lab check: is the lab healthy, the way a CI job needs it? Every follower streaming from the
// one primary, sync_states as synchronous_standby_names implies, replay lag under a bound, every
// slot active, and a marker row written on the primary readable on every follower. The checks are
// looked at until they all hold or the timeout passes; the result says which held.
import { randomBytes } from "node:crypto";
import { formatBytes } from "../core/format.js";
import { silentProgress, type Progress } from "../core/progress.js";
import { pollUntil } from "../core/retry.js";
import { primariesOf, type LabStatus } from "../core/status.js";
import { describeExpected, expectedSyncStates, matchesExpected, parseSyncSpec } from "../core/sync-spec.js";
import { readLab, type LabContext } from "../lab/context.js";
import { onNode } from "../lab/replication.js";
import type { Runtime } from "../lab/runtime.js";
import { readLabStatus } from "../lab/status.js";

export interface CheckOptions {
  lab: string;
  /** The most WAL a follower may have left to replay (default 16 MB). */
  maxLagBytes?: number;
  /** How long the checks may take to hold, the marker row included (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface CheckItem {
  name: string;
  passed: boolean;
  /** What was seen, in words. */
  detail: string;
  duration_ms: number;
}

export interface CheckResult {
  lab: string;
  passed: boolean;
  checks: CheckItem[];
}

interface Verdict {
  name: string;
  passed: boolean;
  detail: string;
}

/** The state checks, computed from one look at the lab. */
function stateVerdicts(status: LabStatus, synchronousStandbyNames: string | null, maxLagBytes: number): Verdict[] {
  const primaries = primariesOf(status);
  const verdicts: Verdict[] = [
    {
      name: "one primary",
      passed: primaries.length === 1,
      detail: primaries.length === 1 ? `${primaries[0]!.name} answers as the primary` : primaries.length === 0 ? "no node answers as primary" : `${primaries.map((node) => node.name).join(" and ")} all answer as primaries`,
    },
  ];
  const primary = primaries.length === 1 ? primaries[0]!.name : null;
  const followers = status.nodes.filter((node) => node.name !== primary);
  const rows = status.replication.filter((row) => row.primary === primary);
  for (const follower of followers) {
    const row = rows.find((candidate) => candidate.application_name === follower.name);
    verdicts.push({
      name: `${follower.name} streams from ${primary ?? "the primary"}`,
      passed: row?.state === "streaming",
      detail: row ? `walsender ${row.state}` : `not connected (${follower.error ?? `container ${follower.container_state}`})`,
    });
    verdicts.push({
      name: `${follower.name} replay lag under ${formatBytes(maxLagBytes)}`,
      passed: row?.replay_lag_bytes !== null && row?.replay_lag_bytes !== undefined && row.replay_lag_bytes <= maxLagBytes,
      detail: row?.replay_lag_bytes === null || row?.replay_lag_bytes === undefined ? "no replay position reported" : `${formatBytes(row.replay_lag_bytes)} behind`,
    });
  }
  if (primary !== null && synchronousStandbyNames !== null) {
    const names = status.nodes.filter((node) => node.name !== primary).map((node) => node.name);
    let expected;
    try {
      expected = expectedSyncStates(synchronousStandbyNames === "" ? null : parseSyncSpec(synchronousStandbyNames, names), rows.map((row) => row.application_name));
    } catch {
      expected = undefined;
    }
    verdicts.push({
      name: `sync_state as synchronous_standby_names = '${synchronousStandbyNames}' implies`,
      passed: expected !== undefined && matchesExpected(expected, rows),
      detail: `expected ${expected ? describeExpected(expected) : "(a spec repl-lab cannot read)"}; saw ${rows.map((row) => `${row.application_name} ${row.sync_state} (priority ${row.sync_priority})`).join(", ") || "no standbys"}`,
    });
  }
  for (const slot of status.slots.filter((candidate) => candidate.primary === primary)) {
    verdicts.push({ name: `slot ${slot.slot_name} active`, passed: slot.active, detail: slot.active ? `active (${slot.wal_status})` : `inactive (${slot.wal_status ?? "-"})` });
  }
  return verdicts;
}

async function synchronousStandbyNames(lab: LabContext, primary: string | undefined): Promise<string | null> {
  if (!primary) return null;
  return Promise.resolve()
    .then(() =>
      onNode(lab, primary, async (session) => {
        const [row] = await session.query<{ names: string }>("SELECT current_setting('synchronous_standby_names') AS names");
        return row?.names ?? "";
      }),
    )
    .catch(() => null);
}

export async function check(runtime: Runtime, options: CheckOptions, progress: Progress = silentProgress): Promise<CheckResult> {
  const maxLagBytes = options.maxLagBytes ?? 16 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = Date.now();
  const lab = await readLab(runtime, options.lab);
  let verdicts: Verdict[] = [];
  let status: LabStatus | undefined;
  await pollUntil(
    async () => {
      status = await readLabStatus(lab);
      verdicts = stateVerdicts(status, await synchronousStandbyNames(lab, primariesOf(status)[0]?.name), maxLagBytes);
      return verdicts.every((verdict) => verdict.passed);
    },
    { timeoutMs, intervalMs: 250, signal: options.signal },
  );
  const stateMs = Date.now() - started;
  const checks: CheckItem[] = verdicts.map((verdict) => ({ ...verdict, duration_ms: stateMs }));

  // The marker: a row written on the primary, looked for on every follower until the timeout.
  const primary = status ? primariesOf(status) : [];
  if (primary.length === 1) {
    const marker = randomBytes(8).toString("hex");
    progress.step(`marker ${marker} written on ${primary[0]!.name}`);
    const written = Date.now();
    const wrote = await Promise.resolve()
      .then(() =>
        onNode(lab, primary[0]!.name, async (session) => {
          await session.query("CREATE TABLE IF NOT EXISTS repl_lab_check (marker text PRIMARY KEY, at timestamptz DEFAULT now())");
          await session.query("INSERT INTO repl_lab_check (marker) VALUES ($1)", [marker]);
        }),
      )
      .then(
      () => undefined,
      (error: Error) => error.message,
    );
    const followers = status!.nodes.filter((node) => node.name !== primary[0]!.name);
    const markers = await Promise.all(
      followers.map(async (follower): Promise<CheckItem> => {
        let seen = false;
        let last = wrote ?? "not there yet";
        if (!wrote) {
          seen = await pollUntil(
            async () =>
              Promise.resolve()
                .then(() => onNode(lab, follower.name, async (session) => (await session.query("SELECT 1 FROM repl_lab_check WHERE marker = $1", [marker])).length > 0))
                .catch((error: Error) => {
                  last = error.message;
                  return false;
                }),
            { timeoutMs: Math.max(1000, timeoutMs - (Date.now() - started)), intervalMs: 50, signal: options.signal },
          );
        }
        return {
          name: `marker row from ${primary[0]!.name} readable on ${follower.name}`,
          passed: seen,
          detail: seen ? `read after ${Date.now() - written} ms` : wrote ? `could not write it: ${wrote}` : `not read within the timeout (last: ${last})`,
          duration_ms: Date.now() - written,
        };
      }),
    );
    checks.push(...markers);
  }
  return { lab: lab.name, passed: checks.every((item) => item.passed), checks };
}

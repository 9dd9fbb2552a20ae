// An experiment's options (refused before any lab exists), a lab given with --lab (its settings put
// back), and Ctrl-C (the labs it made removed). Each experiment's own test: experiments-*.test.ts.
import { afterAll, describe, expect, it } from "vitest";
import { experimentRuns } from "../experiment-runs.js";
import { labsRemovedAfterAll, runCli, runJson, type CliResult } from "../helpers.js";

const experiments = experimentRuns("opt");
const experiment = experiments.run;
const experimentLabs = experiments.labs;
const env = experiments.env;

describe("experiment options and interruption", () => {
  const lab = labsRemovedAfterAll(afterAll);

  it.each([
    [["commit-latency", "--levels", "on,sometimes"], "--levels on,sometimes: expected a comma-separated list of off, local, remote_write, on, remote_apply"],
    [["failover-loss", "--trials", "0"], "--trials 0: expected a whole number from 1 to 100"],
    [["failover-loss", "--lab", "anything"], "failover-loss cannot use --lab"],
    [["failover-loss", "--followers", "3", "--sync", "ANY 1 (standby4)"], "standby4"],
    [["slot-retention", "--wal", "lots"], "--wal lots: expected a size"],
    [["nope"], "unknown command 'nope'"],
  ])("%j is a usage error before any lab exists", async (args, message) => {
    const result: CliResult = await runCli(["experiment", ...args], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(await experimentLabs()).toEqual([]);
  });

  it("runs in a given lab and puts its settings back", async () => {
    const name = lab("given");
    await runJson(["up", "--lab", name, "--followers", "1"]);
    const result = await experiment(["commit-latency", "--lab", name, "--sync", "standby1", "--levels", "local,on", "--duration", "500ms", "--clients", "1"]);
    expect(result.results).toHaveLength(2);
    const [settings] = await runJson<{ names: string }[]>(["sql", "--lab", name, "leader", "SELECT current_setting('synchronous_standby_names') AS names"]);
    expect(settings).toEqual({ names: "" });
  });

  it("Ctrl-C removes the labs the experiment made and exits 130", async () => {
    let sent = false;
    const result = await runCli(["experiment", "lag", "--duration", "30s"], {
      env,
      timeoutMs: 180_000,
      onSpawn: (child) => {
        child.stderr?.on("data", (chunk: Buffer) => {
          if (!sent && /MB\/s of WAL for/.test(chunk.toString())) {
            sent = true;
            child.kill("SIGINT");
          }
        });
      },
    });
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("error: interrupted; the labs lag made were removed");
    expect(await experimentLabs()).toEqual([]);
  });
});

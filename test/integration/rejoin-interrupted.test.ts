// A rejoin interrupted on real servers: once (it finishes), twice (it stops, its helper removed), or
// killed outright (its helper is left; status names it and the next rejoin removes it). One lab for
// the three: each starts with a failover (the primary killed, the other node promoted), so the
// killed node is the one to rejoin, with pg_rewind.
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CHECK_NODE, LABEL, labLabels } from "../../src/core/labels.js";
import { retryUntil } from "../../src/core/retry.js";
import { engine, labsRemovedAfterAll, runCli, runJson, type StatusJson, statusUntil } from "../helpers.js";

describe("rejoin interrupted", () => {
  const lab = labsRemovedAfterAll(afterAll)("rejoin-int");
  /** The node the test rejoins, and the primary it follows. */
  let target = "standby1";
  let primary = "leader";

  beforeAll(async () => {
    await runJson(["up", "--lab", lab, "--followers", "1"]);
  });

  beforeEach(async () => {
    // A failover: the primary killed, the other node promoted; the killed one waits to be rejoined.
    [target, primary] = [primary, target];
    expect((await runCli(["kill", "--lab", lab, target])).code).toBe(0);
    expect((await runCli(["promote", "--lab", lab, primary])).code).toBe(0);
  });

  /**
   * Runs `rejoin <target>` and, once it says pg_rewind has started, does `act` to it (each signal is
   * sent once the previous one has been answered: the kernel merges a signal sent while one of the
   * same kind is pending).
   */
  function rejoinThen(act: (child: ChildProcess, said: (text: string) => Promise<void>) => Promise<void>) {
    return runCli(["rejoin", "--lab", lab, target], {
      onSpawn: (child) => {
        let stderr = "";
        const waiting: { text: string; resolve: () => void }[] = [];
        const said = (text: string) => new Promise<void>((resolve) => (stderr.includes(text) ? resolve() : waiting.push({ text, resolve })));
        child.stderr?.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
          for (const wait of waiting.filter((entry) => stderr.includes(entry.text))) wait.resolve();
        });
        void said(`pg_rewind ${target} against ${primary}`).then(() => act(child, said));
      },
    });
  }

  async function streamsAgain(): Promise<void> {
    const status = await statusUntil(lab, (current) => current.replication.some((row) => row.application_name === target && row.state === "streaming"), 60_000);
    const roles = Object.fromEntries(status.nodes.map((node) => [node.name, `${node.role}:${node.container_state}`]));
    expect(roles).toEqual({ [target]: "standby:running", [primary]: "primary:running" });
    expect(status.warnings).toEqual([]);
  }

  const helpers = async () => (await engine.listContainers({ ...labLabels(lab), [LABEL.node]: CHECK_NODE })).map((container) => container.name);

  it("one Ctrl-C lets it finish, so the node is never left without a container", async () => {
    const result = await rejoinThen(async (child) => void child.kill("SIGINT"));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("rejoin is in progress and will finish in a few seconds; press Ctrl-C again to stop it now");
    await streamsAgain();
  });

  it("a second Ctrl-C stops it at once (exit 130) with its pg_rewind helper removed; the next rejoin completes", async () => {
    const result = await rejoinThen(async (child, said) => {
      child.kill("SIGINT");
      await said("press Ctrl-C again to stop it now");
      child.kill("SIGINT");
    });
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("stopping rejoin");
    expect(await helpers()).toEqual([]);
    // Stopped during pg_rewind, the node is left stopped and the next rejoin completes it; stopped
    // later (its new container starting), it may have come up streaming, and there is nothing to do.
    const again = await runCli(["rejoin", "--lab", lab, target]);
    if (again.code !== 0) expect(again.stderr).toContain(`error: ${target} already streams from ${primary}; nothing to do`);
    await streamsAgain();
  });

  it("killed outright, it leaves its helper: status names it, and the next rejoin removes it and completes (not 409)", async () => {
    // Killed once its pg_rewind helper runs (a container of the lab's, with the helper label).
    const running = async () => (await engine.listContainers({ ...labLabels(lab), [LABEL.node]: CHECK_NODE })).some((container) => container.state === "running");
    const result = await rejoinThen(async (child) => {
      await retryUntil(async () => ((await running()) ? true : undefined), { timeoutMs: 30_000, intervalMs: 20, onTimeout: () => new Error("no pg_rewind helper ran") });
      child.kill("SIGKILL");
    });
    expect(result.signal).toBe("SIGKILL");
    // The helper runs on without the command that started it, and stops.
    const left = await retryUntil(
      async () => {
        const stopped = await engine.listContainers({ ...labLabels(lab), [LABEL.node]: CHECK_NODE });
        return stopped.length > 0 && stopped.every((container) => container.state === "exited") ? stopped.map((container) => container.name) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, onTimeout: () => new Error("the pg_rewind helper did not stop") },
    );
    expect(left).toEqual([`repl-lab-${lab}-_check-rewind-${target}`]);
    const status = await runJson<StatusJson>(["status", "--lab", lab]);
    expect(status.warnings).toEqual([expect.stringContaining(`repl-lab-${lab}-_check-rewind-${target} is a helper container left by an interrupted command`)]);
    const rejoined = await runCli(["rejoin", "--lab", lab, target]);
    expect(rejoined.code).toBe(0);
    expect(rejoined.stderr).toContain(`removed repl-lab-${lab}-_check-rewind-${target}, left by an interrupted command`);
    expect(await helpers()).toEqual([]);
    await streamsAgain();
  });
});

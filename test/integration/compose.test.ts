// A rendered compose file, brought up by the compose tool itself (not by repl-lab), streams.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dropLab, labResources, nothing, rowsUntil, runChecked, runCli, runCommand, runJson, type StatusJson, statusUntil, syncStates, uniqueLab } from "../helpers.js";

/** `docker compose` (v2) where the plugin is installed, else `docker-compose` (v1). */
async function composeCommand(): Promise<string[]> {
  return (await runCommand("docker", ["compose", "version"])).code === 0 ? ["docker", "compose"] : ["docker-compose"];
}

describe("a rendered compose file", () => {
  const lab = uniqueLab("compose");
  const file = join(mkdtempSync(join(tmpdir(), "repl-lab-compose-")), "docker-compose.yml");
  /** The compose tool on a file, as a project named after its lab. */
  const composeOn = (path: string, project: string) => async (...args: string[]) => {
    const [tool = "docker-compose", ...toolArgs] = await composeCommand();
    return runChecked(tool, [...toolArgs, "-f", path, "-p", project, ...args], { timeoutMs: 180_000 });
  };
  const compose = composeOn(file, lab);

  afterAll(async () => {
    try {
      await compose("down", "-v");
    } catch {
      // removeLab below removes whatever the compose tool left
    }
    await dropLab(lab);
  });

  it("runs as-is with the compose tool and gives the same streaming cluster", async () => {
    // With a link delay too: the link-delay ends run from the same entrypoint under compose.
    const rendered = await runCli(["render", "--lab", lab, "--followers", "2", "--sync", "FIRST 1 (standby1, standby2)", "--network-delay", "10ms", "-o", file]);
    expect(rendered.code).toBe(0);
    await compose("up", "-d");
    // The containers carry repl-lab's labels, so repl-lab can watch a lab it did not start.
    const streaming = (current: StatusJson) => syncStates(current).standby1 === "streaming/sync/1" && syncStates(current).standby2 === "streaming/potential/2";
    await statusUntil(lab, streaming, 120_000).catch(async (error: Error) => {
      throw new Error(`compose lab never streamed (${error.message}):\n${await compose("logs", "--tail", "20")}`);
    });
    // As a user sees it, through the CLI.
    const status = await runJson<StatusJson>(["status", "--lab", lab]);
    expect(streaming(status)).toBe(true);
    expect(status.nodes.map((node) => `${node.name}:${node.role}:${node.network_delay_ms ?? "-"}`)).toEqual(["leader:primary:-", "standby1:standby:10", "standby2:standby:10"]);

    expect((await runCli(["sql", "--lab", lab, "leader", "CREATE TABLE c (v text); INSERT INTO c VALUES ('via compose')"])).code).toBe(0);
    await rowsUntil(lab, "standby2", "SELECT v FROM c");
    expect(await runJson(["sql", "--lab", lab, "standby2", "SELECT v FROM c"])).toEqual([{ v: "via compose" }]);

    await compose("down", "-v");
    expect(await labResources(lab)).toEqual(nothing);
  });

  it("--ha: the compose tool runs the same HA lab, etcd members and Patroni included, and Patroni elects a leader", async () => {
    const haLab = uniqueLab("composeha");
    const haFile = join(mkdtempSync(join(tmpdir(), "repl-lab-compose-")), "docker-compose.yml");
    const haCompose = composeOn(haFile, haLab);
    try {
      expect((await runCli(["render", "--lab", haLab, "--ha", "--followers", "1", "-o", haFile])).code).toBe(0);
      await haCompose("up", "-d");
      type HaStatus = StatusJson & { patroni?: { leader: string | null; members: { state: string }[] } | null };
      const elected = (current: HaStatus) => Boolean(current.patroni?.leader && current.patroni.members.some((member) => member.state === "streaming"));
      await statusUntil(haLab, elected, 120_000).catch(async (error: Error) => {
        throw new Error(`compose HA lab never streamed (${error.message}):\n${await haCompose("logs", "--tail", "20")}`);
      });
      const status = await runJson<HaStatus>(["status", "--lab", haLab]);
      expect(status.patroni?.members).toHaveLength(2);
      await haCompose("down", "-v");
      expect(await labResources(haLab)).toEqual(nothing);
    } finally {
      await dropLab(haLab);
    }
  });
});

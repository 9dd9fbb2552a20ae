// repl-lab image build: a PostgreSQL image from Debian's packages, usable by up at once.
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import type { UpResult } from "../../src/operations/up.js";
import { dropLab, engine, runCli, runJson, uniqueLab } from "../helpers.js";

const docker = new Docker();

describe("image build", () => {
  const lab = uniqueLab("pg15");
  let builtHere = false;

  afterAll(async () => {
    await dropLab(lab);
    // Leave the engine as the test found it.
    if (builtHere) await docker.getImage("repl-lab/postgres:15").remove({ force: true }).catch(() => undefined);
  });

  it("refuses a major version it cannot build", async () => {
    const { code, stderr } = await runCli(["image", "build", "--pg", "16"]);
    expect(code).toBe(2);
    expect(stderr).toContain("error: --pg 16 is not supported");
    expect(stderr).toContain("hint: choose one of 15, 17");
    const both = await runCli(["image", "build", "--netfilter", "--ha"]);
    expect(both.code).toBe(2);
    expect(both.stderr.split("\n")[0]).toBe("error: --netfilter builds the packet-filter helper alone, without --ha");
  });

  it("builds repl-lab/postgres:15 from Debian bookworm and a lab runs on it", async () => {
    builtHere = (await engine.inspectImage("repl-lab/postgres:15")) === undefined;
    const build = await runCli(["image", "build", "--pg", "15"], { timeoutMs: 600_000 });
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout.trim()).toBe("repl-lab/postgres:15");
    const inspected = await docker.getImage("repl-lab/postgres:15").inspect();
    expect(inspected.Config.Env).toContain("PGDATA=/var/lib/postgresql/data");
    expect(inspected.Config.Env.find((entry) => entry.startsWith("PATH="))).toContain("/usr/lib/postgresql/15/bin");

    const result = await runJson<UpResult>(["up", "--lab", lab, "--followers", "1", "--sync", "standby1", "--image", "repl-lab/postgres:15"]);
    expect(result.image).toBe("repl-lab/postgres:15");
    const [version] = await runJson<{ server_version_num: string }[]>(["sql", "--lab", lab, "standby1", "SHOW server_version_num"]);
    expect(version?.server_version_num).toMatch(/^15\d{4}$/);
  });
});

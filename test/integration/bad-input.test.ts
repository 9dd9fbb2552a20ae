// Bad input: a one-line error with a hint, a distinct exit code, and nothing left on the engine.
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropLab, labResources, nothing, runCli, uniqueLab } from "../helpers.js";

const USAGE = 2;
const LAB_ERROR = 1;
const ENGINE_UNREACHABLE = 3;

function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("error:"));
}

describe("up with bad input", () => {
  const lab = uniqueLab("bad");
  afterAll(async () => {
    await dropLab(lab);
  });

  it.each([
    [["--followers", "0"], "followers: must be a whole number from 1 to 16"],
    [["--followers", "-1"], "followers: must be a whole number from 1 to 16"],
    [["--followers", "17"], "followers: must be a whole number from 1 to 16"],
    [["--followers", "two"], "followers: must be a whole number from 1 to 16"],
    [["--sync", "standby3"], 'sync: unknown standby "standby3" (this lab has standby1, standby2)'],
    [["--sync", "FIRST 3 (standby1, standby2)"], "num_sync 3 is larger than the 2 standbys"],
    [["--sync", "ANY 1 (standby1"], "cannot read"],
    [["-c", "max_connections"], "-c max_connections: expected name=value"],
    [["-c", "synchronous_standby_names=x"], "use --sync"],
    [["-c", "no_such_setting=1"], "-c no_such_setting: not a PostgreSQL setting"],
    [["--sync-commit", "always"], "argument 'always' is invalid"],
    [["--wal-sender-timeout", "soon"], "walSenderTimeout: must be a duration"],
    [["--wait-timeout", "never"], "--wait-timeout never: expected a duration"],
    [["--port", "80"], "port: must be a whole number from 1024"],
    [["--file", "/nonexistent/lab.yaml"], "cannot read lab file /nonexistent/lab.yaml"],
  ])("up %j is a usage error that creates nothing", async (args, message) => {
    const { code, stderr, stdout } = await runCli(["up", "--lab", lab, ...args]);
    expect(code).toBe(USAGE);
    expect(stdout).toBe("");
    expect(errorLines(stderr)).toHaveLength(1);
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace without DEBUG
    expect(await labResources(lab)).toEqual(nothing);
  });

  it("errors are red with FORCE_COLOR and plain with NO_COLOR or when stderr is not a terminal", async () => {
    const args = ["up", "--lab", lab, "--followers", "0"];
    const forced = await runCli(args, { env: { NO_COLOR: undefined, FORCE_COLOR: "1" } });
    expect(forced.stderr).toContain("\u001b[31merror:\u001b[39m followers: must be a whole number");
    expect(forced.stderr).toContain("\u001b[36mhint:\u001b[39m");
    for (const env of [{ NO_COLOR: "1", FORCE_COLOR: "1" }, { NO_COLOR: undefined, FORCE_COLOR: undefined }]) {
      const plain = await runCli(args, { env });
      expect(plain.code).toBe(USAGE);
      expect(plain.stderr).toContain("error: followers: must be a whole number");
      expect(plain.stderr).not.toMatch(/\u001b\[/);
    }
  });

  it("an image that is not here and cannot be pulled is a lab error naming the command that builds one", async () => {
    const { code, stderr } = await runCli(["up", "--lab", lab, "--image", "repl-lab/postgres:99"]);
    expect(code).toBe(LAB_ERROR);
    expect(stderr).toContain("image repl-lab/postgres:99 is not on this engine and could not be pulled");
    expect(stderr).toContain("repl-lab image build --pg 17");
    expect(await labResources(lab)).toEqual(nothing);
  });

  it("an unreachable engine is exit code 3 with a hint", async () => {
    const { code, stderr } = await runCli(["up", "--lab", lab], { env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
    expect(code).toBe(ENGINE_UNREACHABLE);
    expect(errorLines(stderr)).toEqual(["error: cannot reach the Docker engine (connect ENOENT /nonexistent/docker.sock)"]);
    expect(stderr).toContain("hint: start a Docker engine");
  });

  it("an engine's TLS certificates that cannot be read are exit code 3 naming them, not a crash", async () => {
    const env = { DOCKER_HOST: "tcp://127.0.0.1:1", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/nonexistent" };
    const { code, stderr } = await runCli(["ls"], { env });
    expect(code).toBe(ENGINE_UNREACHABLE);
    expect(errorLines(stderr)).toEqual(["error: cannot use the Docker engine at tcp://127.0.0.1:1 (ENOENT: no such file or directory, open '/nonexistent/ca.pem')"]);
    expect(stderr).toContain("hint: check DOCKER_HOST, and DOCKER_TLS_VERIFY and DOCKER_CERT_PATH");
  });

  // An engine over TLS or ssh is dialled in its own protocol. The server reads the client's first
  // bytes and hangs up.
  it.each([
    ["tcp with TLS", (port: number) => ({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: undefined }), (first: Buffer) => first[0] === 0x16],
    ["ssh", (port: number) => ({ DOCKER_HOST: `ssh://nobody@127.0.0.1:${port}` }), (first: Buffer) => first.toString("latin1").startsWith("SSH-2.0-")],
  ])("an engine over %s is dialled with its protocol, and its hang-up is exit code 3", async (_, env, spoken) => {
    let first: Buffer | undefined;
    const server = createServer((socket) => socket.once("data", (data: Buffer) => ((first = data), socket.destroy())));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { code, stderr } = await runCli(["ls"], { env: env((server.address() as { port: number }).port) });
      expect(code).toBe(ENGINE_UNREACHABLE);
      expect(errorLines(stderr)).toHaveLength(1);
      expect(errorLines(stderr)[0]).toMatch(/^error: cannot reach the Docker engine/);
      expect(first).toBeDefined();
      expect(spoken(first!)).toBe(true);
      // docker-modem's own ssh requests have an invalid address (DEP0170): src/engine/docker.ts addresses them as http.
      expect(stderr).not.toContain("DeprecationWarning");
    } finally {
      server.close();
    }
  });

  it("an unknown lab is a lab error for status, env, sql and down", async () => {
    for (const args of [["status"], ["env"], ["sql", "leader", "SELECT 1"], ["down"]]) {
      const { code, stderr } = await runCli([...args, "--lab", lab]);
      expect(code).toBe(LAB_ERROR);
      expect(errorLines(stderr)[0]).toMatch(new RegExp(`no lab named "${lab}"`));
    }
  });

  it("a lab name that is no lab name is a usage error for every command that takes --lab, before the engine is asked", async () => {
    const bad = "../../containers/x";
    const commands = [
      ["status"], ["status", "--watch"], ["events"], ["down"], ["env"], ["sql", "leader", "SELECT 1"], ["logs", "leader"], ["kill", "standby1"],
      ["delay", "standby1", "--apply", "1s"], ["sync", "off"], ["promote", "standby1"], ["rejoin", "leader"], ["switchover", "standby1"],
      ["check"], ["dashboard"],
    ];
    for (const args of commands) {
      const { code, stderr } = await runCli([...args, "--lab", bad]);
      expect(code, args.join(" ")).toBe(USAGE);
      expect(errorLines(stderr), args.join(" ")).toEqual([`error: lab name "${bad}": must be 1-40 characters: lower-case letters, digits, - and _, starting with a letter or digit`]);
    }
  });

  it("a duration past a day is a usage error, not a timer that fires at once", async () => {
    for (const args of [["status", "--watch", "--interval", "25d"], ["status", "--watch", "--interval", "1000h"], ["events", "--interval", "1000h"], ["check", "--timeout", "48h"]]) {
      const { code, stderr } = await runCli([...args, "--lab", lab]);
      expect(code, args.join(" ")).toBe(USAGE);
      expect(errorLines(stderr)[0], args.join(" ")).toMatch(/expected a duration from \S+ to 24h/);
    }
  });

  it("an unknown command or option is a usage error", async () => {
    expect((await runCli(["frobnicate"])).code).toBe(USAGE);
    expect((await runCli(["up", "--folowers", "2"])).code).toBe(USAGE);
  });

  it("a bad lab file field is reported with its path", async () => {
    const { writeFileSync, mkdtempSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const file = join(mkdtempSync(join(tmpdir(), "repl-lab-file-")), "lab.yaml");
    writeFileSync(file, `lab: ${lab}\nfollowers: 3\nsync: "ANY 4 (*)"\nsettings:\n  max_connections: 50\n`);
    const { code, stderr } = await runCli(["up", "--file", file]);
    expect(code).toBe(USAGE);
    expect(stderr).toContain('sync: num_sync 4 is larger than the 3 standbys it can choose from (in "ANY 4 (*)")');
    writeFileSync(file, `lab: ${lab}\nfollower: 3\n`);
    expect((await runCli(["up", "--file", file])).stderr).toContain("unknown field follower");
    expect(await labResources(lab)).toEqual(nothing);
  });
});

describe("up with a host port that is taken", () => {
  const lab = uniqueLab("port");
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.close();
    await dropLab(lab);
  });

  it("says which port and creates nothing", async () => {
    // The leader takes --port, standby1 the next one: make standby1's port the taken one.
    const { code, stderr } = await runCli(["up", "--lab", lab, "--followers", "1", "--port", String(port - 1)]);
    expect(code).toBe(LAB_ERROR);
    expect(errorLines(stderr)).toEqual([`error: port ${port} on 127.0.0.1 (for standby1) is taken; nothing was created`]);
    expect(await labResources(lab)).toEqual(nothing);
  });
});

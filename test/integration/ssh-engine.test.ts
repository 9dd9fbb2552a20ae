// An engine reached over ssh (DOCKER_HOST=ssh://…), as the docker CLI reaches one: an ssh server on
// loopback that runs `docker system dial-stdio` by joining the channel to this machine's engine
// socket. repl-lab brings a lab up, reads its status and removes it through it, without Node's
// warning about docker-modem's ssh address (DEP0170).
import { connect, type AddressInfo } from "node:net";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropLab, labResources, nothing, runCli, uniqueLab, type StatusJson } from "../helpers.js";

/** The engine the rest of the suite uses: a local socket. */
const ENGINE_SOCKET = process.env.DOCKER_HOST?.startsWith("unix://") ? process.env.DOCKER_HOST.slice("unix://".length) : "/var/run/docker.sock";

describe("an engine over ssh", () => {
  const lab = uniqueLab("ssh");
  const commands: string[] = [];
  const server = new ssh2.Server({ hostKeys: [ssh2.utils.generateKeyPairSync("ed25519").private] }, (client) => {
    client.on("authentication", (context) => (context.username === "repl-lab" ? context.accept() : context.reject()));
    client.on("error", () => undefined);
    client.on("session", (accept) =>
      accept().on("exec", (acceptExec, _reject, info) => {
        commands.push(info.command);
        const channel = acceptExec();
        if (info.command !== "docker system dial-stdio") return channel.exit(127), channel.end();
        const engine = connect(ENGINE_SOCKET);
        engine.on("error", () => channel.end());
        channel.pipe(engine).pipe(channel);
      }),
    );
  });
  let dockerHost = "";
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    dockerHost = `ssh://repl-lab@127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await dropLab(lab);
    server.close();
  });

  it("runs up, status and down through it, each request over its own ssh session, with no deprecation warning", async () => {
    const env = { DOCKER_HOST: dockerHost, SSH_AUTH_SOCK: "" };
    const up = await runCli(["up", "--lab", lab, "--followers", "1", "--quiet"], { env });
    expect(up.code, up.stderr).toBe(0);
    const status = await runCli(["status", "--lab", lab, "--json"], { env });
    expect(status.code, status.stderr).toBe(0);
    const nodes = (JSON.parse(status.stdout) as StatusJson).nodes;
    expect(nodes.map((node) => [node.name, node.role])).toEqual([
      ["leader", "primary"],
      ["standby1", "standby"],
    ]);
    const down = await runCli(["down", "--lab", lab], { env });
    expect(down.code, down.stderr).toBe(0);
    for (const result of [up, status, down]) expect(result.stderr).not.toContain("DeprecationWarning");
    expect(commands.length).toBeGreaterThan(3);
    expect(new Set(commands)).toEqual(new Set(["docker system dial-stdio"]));
    expect(await labResources(lab)).toEqual(nothing);
  });
});

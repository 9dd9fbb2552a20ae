// A failed or interrupted up says what happened and leaves nothing behind.
import { createServer, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { labResources, labsRemovedAfterAll, nothing, runCli } from "../helpers.js";

describe("a failed up", () => {
  const lab = labsRemovedAfterAll(afterAll);

  it("reports a leader that cannot start, with its last log lines, and removes the lab", async () => {
    const name = lab("crash");
    const { code, stderr } = await runCli(["up", "--lab", name, "--followers", "2", "-c", "shared_buffers=lots"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/error: leader stopped while the lab was starting \(exit code 1\)/);
    expect(stderr).toContain('invalid value for parameter "shared_buffers": "lots"');
    expect(stderr).toContain("up failed: removing what was created");
    expect(await labResources(name)).toEqual(nothing);
  });

  it("times out with what it awaited and what it last saw, and removes the lab", async () => {
    const name = lab("timeout");
    const { code, stderr } = await runCli(["up", "--lab", name, "--followers", "2", "--sync", "standby1", "--wait-timeout", "1s"]);
    expect(code).toBe(1);
    expect(stderr).toContain(`error: lab "${name}" was not ready after 1 s (--wait-timeout)`);
    expect(stderr).toContain("awaited: every follower streaming, standby1 sync (priority 1), standby2 async (priority 0)");
    expect(stderr).toMatch(/last seen: /);
    expect(stderr).toMatch(/last log lines of repl-lab-.*:/);
    expect(await labResources(name)).toEqual(nothing);
  });

  it.each([
    ["while containers are created", /creating \d+ containers/],
    ["while followers bootstrap", /bootstrapping with pg_basebackup/],
  ])("Ctrl-C %s removes everything and exits 130", async (_when, progressLine) => {
    const name = lab("sigint");
    let sent = false;
    const result = await runCli(["up", "--lab", name, "--followers", "3"], {
      onSpawn: (child) => {
        let stderr = "";
        child.stderr?.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
          if (!sent && progressLine.test(stderr)) {
            sent = true;
            child.kill("SIGINT");
          }
        });
      },
    });
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain(`error: interrupted; lab "${name}" was removed`);
    expect(await labResources(name)).toEqual(nothing);
  });

  it("Ctrl-C during an image pull stops the pull and exits 130 at once", async () => {
    // A registry that accepts the engine's connection and never answers: the pull hangs.
    const sockets: Socket[] = [];
    const registry = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
    const image = `127.0.0.1:${(registry.address() as { port: number }).port}/repl-lab-test/hangs:1`;
    const name = lab("pull");
    let signalledAt = 0;
    try {
      const result = await runCli(["up", "--lab", name, "--image", image], {
        timeoutMs: 120_000,
        onSpawn: (child) => {
          child.stderr?.on("data", (chunk: Buffer) => {
            if (!signalledAt && chunk.toString().includes(`pulling ${image}`)) {
              signalledAt = Date.now();
              child.kill("SIGINT");
            }
          });
        },
      });
      expect(signalledAt).toBeGreaterThan(0);
      expect(result.code).toBe(130);
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
      expect(result.stderr).toContain(`error: interrupted while pulling ${image}`);
      expect(await labResources(name)).toEqual(nothing);
    } finally {
      for (const socket of sockets) socket.destroy();
      registry.close();
    }
  });
});

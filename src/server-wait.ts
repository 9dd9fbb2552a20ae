// Waiting for a node's server to answer again after a start, restart or rejoin.
import type { DockerEngine } from "./docker.js";
import { LabError } from "./errors.js";
import { labEndpoints, readLab, requireNode } from "./lab.js";
import { isTransientConnectionError, openSession } from "./postgres.js";
import { retryUntil } from "./retry.js";

/** Waits until a node's server answers a query (a standby answers once it is consistent). */
export async function waitForServer(engine: DockerEngine, labName: string, nodeName: string, timeoutMs = 60_000): Promise<void> {
  let lastError = "no answer yet";
  await retryUntil(
    async () => {
      const lab = await readLab(engine, labName);
      const node = requireNode(lab, nodeName);
      if (node.state === "exited") {
        throw new LabError(`${nodeName} stopped again while starting`, {
          details: [`last log lines of ${node.name}:`, ...(await engine.logs(node.id, 15))],
        });
      }
      const endpoint = (await labEndpoints(engine, lab)).get(nodeName);
      if (!endpoint) return undefined;
      try {
        const session = await openSession(endpoint, { timeoutMs: 2000 });
        await session.query("SELECT 1");
        await session.close();
        return true;
      } catch (error) {
        lastError = (error as Error).message;
        if (isTransientConnectionError(error) || /starting up|not yet accepting/.test(lastError)) return undefined;
        throw error;
      }
    },
    {
      timeoutMs,
      intervalMs: 200,
      onTimeout: () => new LabError(`${nodeName} did not accept connections within ${timeoutMs / 1000} s (last: ${lastError})`, {
        hint: `see \`repl-lab logs ${nodeName}\``,
      }),
    },
  );
}

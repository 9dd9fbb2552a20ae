// Where the lab's published ports are reached from this process, resolved once: REPL_LAB_HOST when
// set, else the host of a tcp:// DOCKER_HOST (a remote engine, or docker-in-docker in CI), else
// 127.0.0.1 (a local engine on its unix socket).

export interface EngineHost {
  /** The address in every connection URL. */
  host: string;
  /**
   * The address ports are published on, on the engine's machine: loopback when the ports are
   * reached through loopback (a local engine: nothing else on the network can connect), else every
   * interface of the engine's machine, which is the only way a client elsewhere reaches them.
   */
  bindIp: string;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

export function resolveEngineHost(env: NodeJS.ProcessEnv = process.env): EngineHost {
  let host = env.REPL_LAB_HOST?.trim();
  if (!host) {
    host = "127.0.0.1";
    const dockerHost = env.DOCKER_HOST?.trim();
    if (dockerHost && /^(tcp|http|https):\/\//.test(dockerHost)) {
      try {
        const hostname = new URL(dockerHost.replace(/^tcp:/, "http:")).hostname.replace(/^\[|\]$/g, "");
        if (hostname) host = hostname;
      } catch {
        // An unreadable DOCKER_HOST is the engine client's to report.
      }
    }
  }
  return { host, bindIp: isLoopback(host) ? "127.0.0.1" : "0.0.0.0" };
}

let resolved: EngineHost | undefined;

/** This process's engine host, resolved on first use. */
export function engineHost(): EngineHost {
  resolved ??= resolveEngineHost();
  return resolved;
}

// What every operation runs on: a container engine, a way to open PostgreSQL sessions, and the
// host where published ports are reached. The CLI and the library build the real one; unit tests
// build one from a fake engine and fake sessions.
import type { ContainerEngine } from "../engine/engine.js";
import type { Connect } from "../postgres.js";
import { engineHost, type EngineHost } from "./host.js";

export interface Runtime {
  engine: ContainerEngine;
  connect: Connect;
  host: EngineHost;
}

/** The real runtime: the Docker engine (DOCKER_HOST honoured), node-postgres, the resolved host. */
export async function dockerRuntime(): Promise<Runtime> {
  // Both loaded on demand, for start-up: `--help` needs neither, `ls` no PostgreSQL. node-postgres
  // starts loading now, while the first engine request is on its way, and is awaited at first use.
  const postgres = import("../postgres.js");
  postgres.catch(() => undefined);
  const { DockerEngine } = await import("../engine/docker.js");
  return {
    engine: new DockerEngine(),
    connect: async (endpoint, options) => (await postgres).openSession(endpoint, options),
    host: engineHost(),
  };
}

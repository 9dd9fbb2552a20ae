// What every operation runs on: a container engine, a way to open PostgreSQL sessions, the host
// where published ports are reached, the clients of Patroni's and etcd's APIs (HA mode), and the
// clock waits are measured on. The CLI and the library build the real one; unit tests build one
// from fakes.
import type { ContainerEngine } from "../core/engine.js";
import type { HaClients } from "../core/ha-client.js";
import { realClock, type Clock } from "../core/retry.js";
import type { Connect } from "../postgres.js";
import { nextTurn } from "../core/schedule.js";
import { httpHaClients } from "../ha/http.js";
import { engineHost, type EngineHost } from "./host.js";

export interface Runtime {
  engine: ContainerEngine;
  connect: Connect;
  host: EngineHost;
  ha: HaClients;
  clock: Clock;
}

/** The real runtime: the Docker engine (DOCKER_HOST honoured; a lab's other hosts' engines through it), node-postgres, the resolved host, HTTP to Patroni and etcd. */
export async function dockerRuntime(): Promise<Runtime> {
  // Both loaded on demand, for start-up: `--help` needs neither, `ls` no PostgreSQL. node-postgres
  // loads on the event loop's next turn, once the first engine request has gone out, so that its
  // loading overlaps the engine's answer; it is awaited at first use.
  const [{ DockerEngine, dockerAt }, { HostsEngine }] = await Promise.all([import("../engine/docker.js"), import("../engine/hosts.js")]);
  const postgres = nextTurn().then(() => import("../postgres.js"));
  postgres.catch(() => undefined);
  return {
    // The engine DOCKER_HOST names, and through it the hosts of any lab that spans engines.
    engine: new HostsEngine(new DockerEngine(), (url) => new DockerEngine(dockerAt(url))),
    connect: async (endpoint, options) => (await postgres).openSession(endpoint, options),
    host: engineHost(),
    ha: httpHaClients(),
    clock: realClock,
  };
}

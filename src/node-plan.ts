// What each node's container is, as plain data: `up` hands it to the engine, `render` to compose.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { names, nodeLabels } from "./labels.js";
import { LEADER, nodeSettings, type NodeSpec, type Topology } from "./topology.js";

export const PGDATA = "/var/lib/postgresql/data";
export const POSTGRES_PORT = 5432;

export interface LabSecrets {
  superuserPassword: string;
  replicationPassword: string;
}

export function generateSecrets(): LabSecrets {
  return {
    superuserPassword: randomBytes(12).toString("hex"),
    replicationPassword: randomBytes(12).toString("hex"),
  };
}

export const ENV = {
  node: "REPL_LAB_NODE",
  role: "REPL_LAB_ROLE",
  primaryHost: "REPL_LAB_PRIMARY_HOST",
  slot: "REPL_LAB_SLOT",
  superuserPassword: "REPL_LAB_SUPERUSER_PASSWORD",
  replicationPassword: "REPL_LAB_REPLICATION_PASSWORD",
} as const;

export interface NodePlan {
  node: NodeSpec;
  containerName: string;
  volumeName: string;
  image: string;
  env: Record<string, string>;
  entrypoint: string[];
  /** postgresql.conf settings as name=value, the entrypoint's arguments. */
  command: string[];
  labels: Record<string, string>;
}

let entrypointScript: string | undefined;

export function nodeEntrypointScript(): string {
  entrypointScript ??= readFileSync(new URL("../templates/node-entrypoint.sh", import.meta.url), "utf8");
  return entrypointScript;
}

export function planNode(topology: Topology, node: NodeSpec, image: string, secrets: LabSecrets): NodePlan {
  const env: Record<string, string> = {
    PGDATA,
    [ENV.node]: node.name,
    [ENV.role]: node.role,
    [ENV.primaryHost]: LEADER,
    [ENV.slot]: node.role === "standby" && topology.slots ? node.name : "",
    [ENV.superuserPassword]: secrets.superuserPassword,
    [ENV.replicationPassword]: secrets.replicationPassword,
  };
  return {
    node,
    containerName: names.container(topology.lab, node.name),
    volumeName: names.volume(topology.lab, node.name),
    image,
    env,
    entrypoint: ["bash", "-c", nodeEntrypointScript(), "repl-lab-node"],
    command: nodeSettings(topology, node).map(([name, value]) => `${name}=${value}`),
    labels: nodeLabels(topology.lab, node.name, node.role),
  };
}

export function planLab(topology: Topology, image: string, secrets: LabSecrets): NodePlan[] {
  return topology.nodes.map((node) => planNode(topology, node, image, secrets));
}

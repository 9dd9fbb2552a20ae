// Topology to a compose file that runs as-is with `docker compose up` or `docker-compose up`.
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { stringify } from "yaml";
import { labLabels, names } from "./labels.js";
import { PGDATA, planLab, POSTGRES_PORT, type LabSecrets, type NodePlan } from "./node-plan.js";
import type { Topology } from "./topology.js";

/**
 * Passwords for a rendered file. The same seed gives the same passwords, so a rendered file can be
 * reproduced (the examples in compose/ are); without one they are random.
 */
export function composeSecrets(lab: string, seed: string | undefined): LabSecrets {
  const key = seed ?? randomBytes(16).toString("hex");
  const derive = (purpose: string) => createHmac("sha256", key).update(`${lab}/${purpose}`).digest("hex").slice(0, 24);
  return { superuserPassword: derive("superuser"), replicationPassword: derive("replication") };
}

/** Compose interpolates $VAR in every string; $$ is a literal dollar sign. */
function escapeDollars<T>(value: T): T {
  if (typeof value === "string") return value.replaceAll("$", () => "$$") as T;
  if (Array.isArray(value)) return value.map(escapeDollars) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, escapeDollars(entry)])) as T;
  }
  return value;
}

function composeService(plan: NodePlan, volumeKey: string, entrypoint: string[]): Record<string, unknown> {
  const hostPort = plan.node.hostPort === undefined ? "" : String(plan.node.hostPort);
  return {
    image: plan.image,
    entrypoint,
    command: escapeDollars(plan.command),
    environment: escapeDollars(plan.env),
    labels: plan.labels,
    stop_signal: "SIGINT",
    stop_grace_period: "30s",
    shm_size: "256m",
    cap_add: ["NET_ADMIN"],
    ports: [`127.0.0.1:${hostPort}:${POSTGRES_PORT}`],
    volumes: [`${volumeKey}:${PGDATA}`],
    networks: ["lab"],
    ...(plan.node.role === "standby" ? { depends_on: ["leader"] } : {}),
  };
}

export interface RenderOptions {
  image: string;
  secrets: LabSecrets;
  /** How the file was rendered, for its header comment. */
  command: string;
  file: string;
}

export function renderCompose(topology: Topology, options: RenderOptions): string {
  const plans = planLab(topology, options.image, options.secrets);
  // Every node runs the same entrypoint: one array, which the YAML writer turns into an anchor
  // (&entrypoint) and aliases, so the script appears once in the file.
  const entrypoint = escapeDollars(plans[0]!.entrypoint);
  const services: Record<string, unknown> = {};
  const volumes: Record<string, unknown> = {};
  for (const plan of plans) {
    const volumeKey = `${plan.node.name}-data`;
    services[plan.node.name] = composeService(plan, volumeKey, entrypoint);
    volumes[volumeKey] = { name: plan.volumeName, labels: labLabels(topology.lab) };
  }
  const document = {
    "x-repl-lab-node-entrypoint": entrypoint,
    services,
    networks: { lab: { name: names.network(topology.lab), labels: labLabels(topology.lab) } },
    volumes,
  };
  const header = readFileSync(new URL("../templates/compose-header.yaml", import.meta.url), "utf8")
    .replaceAll("{{command}}", options.command)
    .replaceAll("{{file}}", options.file)
    .replaceAll("{{lab}}", topology.lab);
  return header + stringify(document, { lineWidth: 0, anchorPrefix: "entrypoint" });
}

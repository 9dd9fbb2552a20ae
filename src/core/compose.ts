// Topology to a compose file that runs as-is with `docker compose up` or `docker-compose up`.
import { createHmac, randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { labLabels, names } from "./labels.js";
import { readPackageFile } from "./package-files.js";
import { nodeEntrypoint, planLab, type LabSecrets, type NodePlan } from "./node-plan.js";
import { LEADER, type Topology } from "./topology.js";

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
  const { container } = plan;
  const [port] = container.ports ?? [];
  const [mount] = container.mounts ?? [];
  return {
    image: container.image,
    entrypoint,
    command: escapeDollars(container.cmd),
    environment: escapeDollars(container.env),
    labels: container.labels,
    stop_signal: container.stopSignal,
    stop_grace_period: `${container.stopTimeoutSeconds}s`,
    shm_size: `${(container.shmSizeBytes ?? 0) / (1024 * 1024)}m`,
    cap_add: container.capAdd,
    ports: port ? [`${port.hostIp}:${port.hostPort ?? ""}:${port.containerPort}`] : [],
    volumes: mount ? [`${volumeKey}:${mount.target}`] : [],
    networks: ["lab"],
    ...(plan.node.role === "standby" ? { depends_on: [LEADER] } : {}),
  };
}

export interface RenderOptions {
  image: string;
  secrets: LabSecrets;
  /** Where each node's volume is mounted in this image (see dataMountTarget). */
  mountTarget?: string;
  /** How the file was rendered, for its header comment. */
  command: string;
  file: string;
}

export function renderCompose(topology: Topology, options: RenderOptions): string {
  const plans = planLab(topology, { image: options.image, secrets: options.secrets, bindIp: "127.0.0.1", mountTarget: options.mountTarget });
  // Every node runs the same entrypoint: one array, which the YAML writer turns into an anchor
  // (&entrypoint) and aliases, so the script appears once in the file.
  const entrypoint = escapeDollars(nodeEntrypoint());
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
  const header = readPackageFile("templates/compose-header.yaml")
    .replaceAll("{{command}}", options.command)
    .replaceAll("{{file}}", options.file)
    .replaceAll("{{lab}}", topology.lab);
  return header + stringify(document, { lineWidth: 0, anchorPrefix: "entrypoint" });
}

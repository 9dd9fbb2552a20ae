// Topology to a compose file that runs as-is with `docker compose up` or `docker-compose up`.
import { createHmac, randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { LABEL, labLabels, names } from "./labels.js";
import { UsageError } from "./errors.js";
import { readPackageFile } from "./package-files.js";
import type { ContainerSpec } from "./engine.js";
import { nodeEntrypoint, planEtcd, planLab, type LabSecrets } from "./node-plan.js";
import { LEADER, type Topology } from "./topology.js";

/**
 * Passwords for a rendered file. The same seed gives the same passwords, so a rendered file can be
 * reproduced (the examples in compose/ are); without one they are random.
 */
export function composeSecrets(lab: string, seed: string | undefined): LabSecrets {
  const key = seed ?? randomBytes(16).toString("hex");
  const derive = (purpose: string) => createHmac("sha256", key).update(`${lab}/${purpose}`).digest("hex").slice(0, 24);
  return { superuserPassword: derive("superuser"), replicationPassword: derive("replication"), patroniPassword: derive("patroni"), etcdPassword: derive("etcd"), monitorPassword: derive("monitor") };
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

function composeService(container: ContainerSpec, volumeKey: string | undefined, entrypoint: string[], dependsOn: string[]): Record<string, unknown> {
  const [mount] = container.mounts ?? [];
  const service: Record<string, unknown> = {
    image: container.image,
    entrypoint,
    command: escapeDollars(container.cmd ?? []),
    environment: escapeDollars(container.env ?? {}),
    labels: container.labels,
    stop_signal: container.stopSignal,
    stop_grace_period: `${container.stopTimeoutSeconds}s`,
    ...(container.shmSizeBytes ? { shm_size: `${container.shmSizeBytes / (1024 * 1024)}m` } : {}),
    ...(container.capAdd ? { cap_add: container.capAdd } : {}),
    ports: (container.ports ?? []).map((port) => `${port.hostIp}:${port.hostPort ?? ""}:${port.containerPort}`),
    volumes: mount && volumeKey ? [`${volumeKey}:${mount.target}`] : [],
    networks: ["lab"],
  };
  if (dependsOn.length > 0) service.depends_on = dependsOn;
  return service;
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
  // pg_auto_failover's standbys must start after the leader has registered with the monitor, which
  // depends_on cannot say; the proxy is only made by `up`.
  if (topology.manager === "pg_auto_failover") throw new UsageError("render: a pg_auto_failover lab is not rendered to compose yet", { hint: "run it with `repl-lab up --ha --manager pg_auto_failover`, or render a Patroni lab" });
  if (topology.proxy) throw new UsageError("render: --proxy is not rendered to compose yet", { hint: "run it with `repl-lab up --ha --proxy`" });
  const planOptions = { image: options.image, secrets: options.secrets, bindIp: "127.0.0.1", mountTarget: options.mountTarget };
  const plans = planLab(topology, planOptions);
  // Every node runs the same entrypoint: one array, which the YAML writer turns into an anchor
  // (&entrypoint) and aliases, so the script appears once in the file.
  const entrypoint = escapeDollars(topology.ha ? plans[0]!.container.entrypoint! : nodeEntrypoint());
  const services: Record<string, unknown> = {};
  const volumes: Record<string, unknown> = {};
  // HA mode: the etcd members first; Patroni on every node waits for them.
  const etcd = planEtcd(topology, planOptions);
  for (const member of etcd) services[member.labels![LABEL.node]!] = composeService(member, undefined, member.entrypoint!, []);
  for (const plan of plans) {
    const volumeKey = `${plan.node.name}-data`;
    const dependsOn = [...etcd.map((member) => member.labels![LABEL.node]!), ...(plan.node.role === "standby" ? [LEADER] : [])];
    services[plan.node.name] = composeService(plan.container, volumeKey, entrypoint, dependsOn);
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

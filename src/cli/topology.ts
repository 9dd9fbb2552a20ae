// Flags to options: the lab file and the topology flags merged and validated by the one schema the
// library uses too; loaded only by the commands that take a topology.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { defaultLabName } from "../core/constants.js";
import { UsageError } from "../core/errors.js";
import { buildTopology, parseSettingFlags, type Topology } from "../core/topology.js";
import { parsePlaceFlag } from "../core/hosts.js";

export interface TopologyFlags {
  lab?: string;
  file?: string;
  followers?: string;
  sync?: string;
  syncCommit?: string;
  slots?: boolean;
  walSenderTimeout?: string;
  networkDelay?: string;
  setting?: string[];
  port?: string;
  image?: string;
  ha?: boolean;
  ttl?: string;
  loopWait?: string;
  retryTimeout?: string;
  maximumLagOnFailover?: string;
  syncMode?: string;
  patroniDefaults?: boolean;
  manager?: string;
  managerDefaults?: boolean;
  proxy?: boolean;
  host?: string[];
  place?: string[];
}

function readLabFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read lab file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const parsed: unknown = parseYaml(text);
    if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) throw new Error("expected a mapping of fields");
    return { ...((parsed as Record<string, unknown> | null) ?? {}) };
  } catch (error) {
    throw new UsageError(`${file} is not a lab file: ${(error as Error).message.split("\n")[0]}`, { hint: "see lab.example.yaml in the README" });
  }
}

/** Lab file first, flags over it; one schema validates both. */
export function topologyFrom(flags: TopologyFlags): Topology {
  const input: Record<string, unknown> = flags.file ? readLabFile(flags.file) : {};
  const given: Record<string, unknown> = {
    lab: flags.lab,
    followers: flags.followers,
    sync: flags.sync,
    syncCommit: flags.syncCommit,
    slots: flags.slots === false ? false : undefined,
    walSenderTimeout: flags.walSenderTimeout,
    networkDelay: flags.networkDelay,
    port: flags.port,
    image: flags.image,
    ha: flags.ha,
    ttl: flags.ttl,
    loopWait: flags.loopWait,
    retryTimeout: flags.retryTimeout,
    maximumLagOnFailover: flags.maximumLagOnFailover,
    syncMode: flags.syncMode,
    patroniDefaults: flags.patroniDefaults,
    manager: flags.manager,
    managerDefaults: flags.managerDefaults,
    proxy: flags.proxy,
  };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) input[key] = value;
  if (flags.host && flags.host.length > 0) input.hosts = flags.host;
  if (flags.place && flags.place.length > 0) {
    input.place = { ...((input.place as Record<string, unknown> | undefined) ?? {}), ...Object.fromEntries(flags.place.map(parsePlaceFlag)) };
  }
  input.lab ??= defaultLabName();
  if (flags.setting && flags.setting.length > 0) {
    input.settings = { ...((input.settings as Record<string, unknown> | undefined) ?? {}), ...parseSettingFlags(flags.setting) };
  }
  return buildTopology(input);
}

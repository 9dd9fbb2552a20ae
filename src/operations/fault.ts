// repl-lab kill|stop|start|restart|pause|unpause <node>: one fault (or its repair) on one of the
// lab's own containers, refused when the node is not in a state it applies to. (Partitions and
// their repair are operations/partition.ts.)
import type { FaultAction } from "../core/constants.js";
import { LabError } from "../core/errors.js";
import { silentProgress, type Progress } from "../core/progress.js";
import type { ContainerEngine, ContainerState } from "../core/engine.js";
import { readLab, requireMember, type LabNode } from "../lab/context.js";
import { reloadCut } from "../lab/partition.js";
import type { Runtime } from "../lab/runtime.js";
import { reread, waitForServer } from "../lab/server.js";

export { FAULT_ACTIONS, type FaultAction } from "../core/constants.js";

interface Transition {
  /** Container states the action applies to. */
  from: readonly ContainerState[];
  /** What the node shows afterwards, and what it means for replication. */
  done: string;
  act(engine: ContainerEngine, node: LabNode): Promise<void>;
  /** Wait until the server accepts connections again. */
  waitForServer?: boolean;
  /** The container starts with a new network namespace. */
  newNamespace?: boolean;
}

const TRANSITIONS: Record<FaultAction, Transition> = {
  kill: {
    from: ["running"],
    done: "killed with SIGKILL: its connections drop at once, so the primary notices immediately",
    act: (engine, node) => engine.killContainer(node.id),
  },
  stop: {
    from: ["running"],
    done: "stopped cleanly (fast shutdown)",
    act: (engine, node) => engine.stopContainer(node.id),
  },
  start: {
    from: ["exited", "created"],
    done: "started and accepting connections",
    act: (engine, node) => engine.startContainer(node.id),
    waitForServer: true,
    newNamespace: true,
  },
  restart: {
    from: ["running", "exited", "created"],
    done: "restarted and accepting connections",
    act: (engine, node) => engine.restartContainer(node.id),
    waitForServer: true,
    newNamespace: true,
  },
  pause: {
    from: ["running"],
    done: "frozen: its connections stay open, so the primary only notices after wal_sender_timeout",
    act: (engine, node) => engine.pauseContainer(node.id),
  },
  unpause: {
    from: ["paused"],
    done: "running again",
    act: (engine, node) => engine.unpauseContainer(node.id),
  },
};

/** What each action means for an etcd member: one of three, so the other two still make a majority. */
const ETCD_DONE: Record<FaultAction, string> = {
  kill: "killed with SIGKILL: the other two members still make a majority; if it was the Raft leader they elect another after the election timeout",
  stop: "stopped: the other two members still make a majority",
  start: "started: it rejoins the Raft cluster",
  restart: "restarted: it rejoins the Raft cluster",
  pause: "frozen: its peers miss its heartbeats; a frozen Raft leader is replaced after the election timeout",
  unpause: "running again: it rejoins the Raft cluster",
};

/** What each action means for pg_auto_failover's monitor: it alone decides, so while it is down nobody fails over. */
const MONITOR_DONE: Record<FaultAction, string> = {
  kill: "killed with SIGKILL: nobody fails over until it is back (the keepers keep the roles they have)",
  stop: "stopped: nobody fails over until it is back (the keepers keep the roles they have)",
  start: "started: it health-checks the nodes again and acts on what it finds (after startup_grace_period)",
  restart: "restarted: it health-checks the nodes again (after startup_grace_period)",
  pause: "frozen: its health checks and the keepers' check-ins stop; nobody fails over while it is",
  unpause: "running again: it health-checks the nodes again",
};

/** What each action means for the HA proxy: the writer and reader ports are its. */
const PROXY_DONE: Record<FaultAction, string> = {
  kill: "killed: WRITER_URL and READER_URL refuse connections until it is started",
  stop: "stopped: WRITER_URL and READER_URL refuse connections until it is started",
  start: "started: its checks find the leader again within a second",
  restart: "restarted: its checks find the leader again within a second",
  pause: "frozen: connections through it hang until it is unpaused",
  unpause: "running again",
};

const REPAIR_HINT: Partial<Record<ContainerState, (node: string) => string>> = {
  exited: (node) => `start it with \`repl-lab start ${node}\``,
  created: (node) => `start it with \`repl-lab start ${node}\``,
  paused: (node) => `unpause it with \`repl-lab unpause ${node}\``,
  running: (node) => `see it with \`repl-lab status\` (stop it with \`repl-lab stop ${node}\`)`,
};

export interface FaultResult {
  node: string;
  action: FaultAction;
  before: ContainerState;
  after: ContainerState;
  message: string;
  elapsed_ms: number;
}

/** Why the action cannot be done to the node as it is, or undefined when it can. */
export function refusal(action: FaultAction, node: LabNode): LabError | undefined {
  const transition = TRANSITIONS[action];
  const refuse = (why: string, hint?: string) =>
    new LabError(`cannot ${action} ${node.name}: ${why}`, { hint: hint ?? REPAIR_HINT[node.state]?.(node.name) });
  if (!transition.from.includes(node.state)) return refuse(`it is ${node.state}`);
  return undefined;
}

export async function fault(runtime: Runtime, options: { lab: string; node: string; action: FaultAction }, progress: Progress = silentProgress): Promise<FaultResult> {
  const started = Date.now();
  const lab = await readLab(runtime, options.lab);
  const node = requireMember(lab, options.node);
  const refused = refusal(options.action, node);
  if (refused) throw refused;
  const transition = TRANSITIONS[options.action];
  const etcdMember = lab.etcd.includes(node);
  const done = etcdMember ? ETCD_DONE : node === lab.monitor ? MONITOR_DONE : node === lab.proxy ? PROXY_DONE : undefined;
  await transition.act(runtime.engine, node);
  // A started container has a new network namespace, without the rules of a cut in force.
  if (transition.newNamespace) await reloadCut(lab);
  if (transition.waitForServer && !done) {
    progress.step(`${node.name}: waiting until the server accepts connections`);
    await waitForServer(lab, node.name);
  }
  const after = requireMember(await reread(lab), node.name);
  return {
    node: node.name,
    action: options.action,
    before: node.state,
    after: after.state,
    message: `${node.name} ${done ? done[options.action] : transition.done}`,
    elapsed_ms: Date.now() - started,
  };
}

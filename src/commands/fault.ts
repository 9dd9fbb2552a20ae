// repl-lab kill|stop|start|restart|pause|unpause|partition|heal <node>: one fault (or its repair) on
// one of the lab's own containers, refused when the node is not in a state it applies to.
import type { DockerEngine, LabContainer } from "../docker.js";
import { LabError } from "../errors.js";
import { names } from "../labels.js";
import { readLab, requireLab, requireNode } from "../lab.js";
import type { Progress } from "../output.js";
import { waitForServer } from "../server-wait.js";

export const FAULT_ACTIONS = ["kill", "stop", "start", "restart", "pause", "unpause", "partition", "heal"] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

interface Transition {
  /** Container states the action applies to. */
  from: string[];
  /** What the node shows afterwards, and what it means for replication. */
  done: string;
  act(engine: DockerEngine, node: LabContainer): Promise<void>;
  /** Wait until the server accepts connections again. */
  waitForServer?: boolean;
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
  },
  restart: {
    from: ["running", "exited", "created"],
    done: "restarted and accepting connections",
    act: (engine, node) => engine.restartContainer(node.id),
    waitForServer: true,
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
  partition: {
    from: ["running", "paused"],
    done: "cut off the lab network: nothing reaches it and it reaches nothing",
    act: (engine, node) => engine.disconnectNetwork(names.network(node.lab), node.id),
  },
  heal: {
    from: ["running", "paused"],
    done: "back on the lab network",
    act: (engine, node) => engine.connectNetwork(names.network(node.lab), node.id, [node.node]),
  },
};

const REPAIR_HINT: Record<string, (node: string) => string> = {
  exited: (node) => `start it with \`repl-lab start ${node}\``,
  created: (node) => `start it with \`repl-lab start ${node}\``,
  paused: (node) => `unpause it with \`repl-lab unpause ${node}\``,
  running: (node) => `see it with \`repl-lab status\` (stop it with \`repl-lab stop ${node}\`)`,
};

export interface FaultResult {
  node: string;
  action: FaultAction;
  before: string;
  after: string;
  message: string;
  elapsed_ms: number;
}

function refuse(action: FaultAction, node: LabContainer, why: string, hint?: string): never {
  throw new LabError(`cannot ${action} ${node.node}: ${why}`, { hint: hint ?? REPAIR_HINT[node.state]?.(node.node) });
}

export async function fault(engine: DockerEngine, options: { lab: string; node: string; action: FaultAction }, progress: Progress): Promise<FaultResult> {
  const started = Date.now();
  await engine.ping();
  const lab = await requireLab(engine, options.lab);
  const node = requireNode(lab, options.node);
  const transition = TRANSITIONS[options.action];
  if (!transition.from.includes(node.state)) refuse(options.action, node, `it is ${node.state}`);
  const attached = node.networks.includes(names.network(node.lab));
  if (options.action === "partition" && !attached) refuse("partition", node, "it is already partitioned", `heal it with \`repl-lab heal ${node.node}\``);
  if (options.action === "heal" && attached) refuse("heal", node, "it is not partitioned");
  await transition.act(engine, node);
  if (transition.waitForServer) {
    progress.step(`${node.node}: waiting until the server accepts connections`);
    await waitForServer(engine, options.lab, options.node);
  }
  const after = requireNode(await readLab(engine, options.lab), options.node);
  return {
    node: node.node,
    action: options.action,
    before: node.state,
    after: after.state,
    message: `${node.node} ${transition.done}`,
    elapsed_ms: Date.now() - started,
  };
}

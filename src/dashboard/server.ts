// repl-lab dashboard: one page on 127.0.0.1 that shows a lab live, fed by the one watchLab()
// producer and changed through the same operations as the CLI. The page and scripts use one small
// API: GET /api/status (status --json), GET /api/events (server-sent events: events --json objects,
// plus a "tick" per look), POST /api/actions/<verb>. Everything under /api needs the token the
// printed URL carries (as Jupyter does); a request from another origin or for another host is refused.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { constants } from "node:fs";
import { open, readFile, readdir } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Lab } from "../api.js";
import { parseAction, type ActionVerb } from "../core/action.js";
import { exitCodeOf, ReplLabError, UsageError, LabError } from "../core/errors.js";
import { checkLabName } from "../core/labels.js";
import { readPackageFile } from "../core/package-files.js";
import { realClock } from "../core/retry.js";
import type { LabStatus } from "../core/status.js";
import type { Runtime } from "../lab/runtime.js";
import { watchLab, type LabTick, type TimedLabEvent } from "../lab/watch.js";

export interface DashboardOptions {
  lab: string;
  /** 0: a free port. */
  port: number;
  /** How often the lab is looked at (default 1 s). */
  intervalMs?: number;
  /** Folders written by `repl-lab experiment … --out DIR`, shown with their plots. */
  experiments?: string[];
  /** Minutes of lag history kept for the charts (default 5). */
  historyMinutes?: number;
  /** Where the looks at the lab come from (default: watchLab on the runtime); tests hand in their own. */
  looks?: (signal: AbortSignal) => AsyncIterable<LabTick>;
}

export interface Dashboard {
  /** The page's address, token included. */
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

/** One follower's lag at one look: [time ms, replay_lag_bytes, write_lag, flush_lag, replay_lag] (seconds). */
type LagPoint = [number, number | null, number | null, number | null, number | null];

/** What the server measured about its own work, per look at the lab. */
export interface TickCost {
  /** Reading the lab (containers, every node's views) and diffing it, ms. */
  read_ms: number;
  /** Turning the tick into JSON and writing it to every page, ms. */
  publish_ms: number;
  /** CPU time this process spent since the previous tick (the look, the pages, the requests), ms. */
  cpu_ms: number;
  pages: number;
}

interface Experiment {
  id: string;
  dir: string;
  experiment: string;
  conclusion: string;
  config: unknown;
  results: unknown[];
  plots: string[];
}

/** The page's files: its own (templates/) and the charting library's, as its package publishes them. */
const ASSETS: Record<string, { file: string; type: string } | { module: string; type: string }> = {
  "/": { file: "templates/dashboard/index.html", type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: "templates/dashboard/app.js", type: "text/javascript; charset=utf-8" },
  "/assets/style.css": { file: "templates/dashboard/style.css", type: "text/css; charset=utf-8" },
  "/assets/uPlot.iife.min.js": { module: "uplot/dist/uPlot.iife.min.js", type: "text/javascript; charset=utf-8" },
  "/assets/uPlot.min.css": { module: "uplot/dist/uPlot.min.css", type: "text/css; charset=utf-8" },
};

const MAX_EVENTS = 500;
const MAX_BODY = 64 * 1024;
/** Event streams open at once: a person's tabs and a script or two, not a crowd. */
export const MAX_STREAMS = 16;
/** What may wait unsent for one stream: a page that stops reading is closed past it, not buffered without end. */
export const MAX_STREAM_BUFFER = 1024 * 1024;

/** Headers on every answer: no framing, no referrer (the URL carries the token), and what the page may load. */
const SAFE_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};
const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/** An experiment's plot is shown as an image: it may style itself, and nothing in it runs. */
const PLOT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";

/** A request body over MAX_BODY: 413, whatever else is wrong with it. */
class BodyTooLarge extends UsageError {}

class Feed {
  status: LabStatus | null = null;
  time: string | null = null;
  /** Why the lab cannot be read (it is down, say); null while it can. */
  problem: string | null = null;
  events: TimedLabEvent[] = [];
  lag = new Map<string, LagPoint[]>();
  costs: TickCost[] = [];
  pages = new Set<ServerResponse>();
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly historyMs: number) {}

  /** The first look at the lab (or the news that there is none). */
  ready(): Promise<void> {
    return this.status || this.problem ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }

  settle(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  record(time: string, status: LabStatus, events: TimedLabEvent[]): void {
    this.status = status;
    this.time = time;
    this.problem = null;
    this.events.push(...events);
    this.events.splice(0, Math.max(0, this.events.length - MAX_EVENTS));
    const now = Date.parse(time);
    for (const row of status.replication) {
      const series = this.lag.get(row.application_name) ?? [];
      series.push([now, row.replay_lag_bytes, row.write_lag, row.flush_lag, row.replay_lag]);
      this.lag.set(row.application_name, series);
    }
    for (const [name, series] of this.lag) {
      const keep = series.findIndex((point) => point[0] >= now - this.historyMs);
      if (keep === -1) this.lag.delete(name);
      else series.splice(0, keep);
    }
    this.settle();
  }

  send(event: string | null, data: unknown): void {
    const frame = `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
    for (const page of this.pages) write(page, frame, this.pages);
  }
}

/**
 * Writes a frame to one stream, or closes the stream when its reader has let more than
 * MAX_STREAM_BUFFER pile up (it reconnects, and gets the present state in its hello).
 */
function write(page: ServerResponse, frame: string, pages: Set<ServerResponse>): void {
  if (page.writableLength > MAX_STREAM_BUFFER) {
    pages.delete(page);
    page.destroy();
    return;
  }
  page.write(frame);
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function json(response: ServerResponse, code: number, body: unknown): void {
  response.writeHead(code, { ...SAFE_HEADERS, "content-type": "application/json; charset=utf-8" });
  response.end(JSON.stringify(body));
}

function errorBody(error: unknown): { message: string; hint: string | null; details: string[]; exit_code: number } {
  return {
    message: error instanceof Error ? error.message : String(error),
    hint: error instanceof ReplLabError ? (error.hint ?? null) : null,
    details: error instanceof ReplLabError ? error.details : [],
    exit_code: exitCodeOf(error),
  };
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BodyTooLarge(`the request body is over ${MAX_BODY / 1024} KiB`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError("the request body is not JSON");
  }
}

/**
 * A file of an experiment's folder, read only if it is a regular file there: a link (to the token's
 * neighbours, say, from a shared results folder) is not followed.
 */
async function readOwnFile(dir: string, name: string): Promise<Buffer> {
  const file = await open(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (!(await file.stat()).isFile()) throw new Error(`${name} is not a file`);
    return await file.readFile();
  } finally {
    await file.close();
  }
}

async function readExperiments(dirs: string[]): Promise<Experiment[]> {
  const found: Experiment[] = [];
  for (const [index, dir] of dirs.entries()) {
    let result: { experiment?: string; conclusion?: string; config?: unknown; results?: unknown[] };
    try {
      result = JSON.parse((await readOwnFile(dir, "result.json")).toString("utf8"));
    } catch (error) {
      throw new UsageError(`--experiments ${dir}: no readable result.json there (${(error as Error).message})`, {
        hint: "give a folder written by `repl-lab experiment <name> --out DIR`",
      });
    }
    const plots = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile() && entry.name.endsWith(".svg")).map((entry) => entry.name).sort();
    found.push({
      id: String(index),
      dir,
      experiment: result.experiment ?? "?",
      conclusion: result.conclusion ?? "",
      config: result.config ?? {},
      results: result.results ?? [],
      plots,
    });
  }
  return found;
}

/** Serves the dashboard until close(); the lab may be down at the start, go down and come back. */
export async function startDashboard(runtime: Runtime, options: DashboardOptions): Promise<Dashboard> {
  checkLabName(options.lab);
  const token = randomBytes(24).toString("hex");
  const intervalMs = options.intervalMs ?? 1000;
  const experiments = await readExperiments(options.experiments ?? []);
  const feed = new Feed((options.historyMinutes ?? 5) * 60_000);
  const stop = new AbortController();
  const resolveModule = createRequire(import.meta.url).resolve;
  const assets = new Map<string, string>();
  const asset = async (path: string): Promise<string> => {
    let text = assets.get(path);
    if (text === undefined) {
      const source = ASSETS[path]!;
      text = "module" in source ? await readFile(resolveModule(source.module), "utf8") : readPackageFile(source.file);
      assets.set(path, text);
    }
    return text;
  };
  let busy: string | null = null;
  let port = options.port;

  const watching = (async () => {
    while (!stop.signal.aborted) {
      try {
        let cpu = process.cpuUsage();
        const looks = options.looks ?? ((signal: AbortSignal) => watchLab(runtime, options.lab, { intervalMs, signal }));
        for await (const tick of looks(stop.signal)) {
          const published = performance.now();
          feed.record(tick.time, tick.status, tick.events);
          for (const event of tick.events) feed.send(null, event);
          feed.send("tick", { time: tick.time, status: tick.status });
          const used = process.cpuUsage(cpu);
          const cost: TickCost = {
            read_ms: tick.read_ms,
            publish_ms: Math.round((performance.now() - published) * 10) / 10,
            cpu_ms: Math.round((used.user + used.system) / 100) / 10,
            pages: feed.pages.size,
          };
          feed.costs.push(cost);
          feed.costs.splice(0, Math.max(0, feed.costs.length - 600));
          cpu = process.cpuUsage();
        }
      } catch (error) {
        if (stop.signal.aborted) break;
        const problem = error instanceof ReplLabError ? error.message : `cannot read the lab: ${(error as Error).message}`;
        if (problem !== feed.problem) feed.send("problem", { time: new Date().toISOString(), message: problem });
        feed.problem = problem;
        feed.settle();
        await realClock.sleep(intervalMs, stop.signal).catch(() => undefined);
      }
    }
  })();

  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    // A page elsewhere that points a name at 127.0.0.1 (DNS rebinding) or posts to it is refused.
    if (!allowedHosts().has(request.headers.host ?? "")) return json(response, 403, { error: { message: "refused: unexpected Host header" } });
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) return json(response, 403, { error: { message: "refused: cross-origin request" } });

    if (request.method === "GET" && Object.hasOwn(ASSETS, url.pathname)) {
      response.writeHead(200, { ...SAFE_HEADERS, "content-security-policy": PAGE_POLICY, "content-type": ASSETS[url.pathname]!.type });
      response.end(await asset(url.pathname));
      return;
    }
    if (!url.pathname.startsWith("/api/")) return json(response, 404, { error: { message: `no such page: ${url.pathname}` } });

    const given = (request.headers["x-repl-lab-token"] as string | undefined) ?? url.searchParams.get("token") ?? "";
    if (!sameText(given, token)) {
      return json(response, 401, { error: { message: "refused: the token is missing or wrong", hint: "use the URL repl-lab dashboard printed, token included" } });
    }

    if (request.method === "GET" && url.pathname === "/api/status") {
      await feed.ready();
      if (!feed.status || feed.problem) return json(response, 409, { error: { message: feed.problem ?? "the lab has not been read yet" } });
      return json(response, 200, feed.status);
    }
    if (request.method === "GET" && url.pathname === "/api/events") {
      if (feed.pages.size >= MAX_STREAMS) {
        return json(response, 429, { error: { message: `${MAX_STREAMS} event streams are open already`, hint: "close a dashboard tab or a script that reads /api/events" } });
      }
      response.writeHead(200, { ...SAFE_HEADERS, "content-type": "text/event-stream; charset=utf-8", connection: "keep-alive" });
      // What a page needs to draw at once: the last look, the recent events and the lag history.
      response.write(`event: hello\ndata: ${JSON.stringify({
        lab: options.lab,
        interval_ms: intervalMs,
        time: feed.time,
        status: feed.status,
        problem: feed.problem,
        events: feed.events,
        lag: Object.fromEntries(feed.lag),
        busy,
      })}\n\n`);
      feed.pages.add(response);
      const keepAlive = setInterval(() => write(response, ": keep-alive\n\n", feed.pages), 15_000);
      request.on("close", () => {
        clearInterval(keepAlive);
        feed.pages.delete(response);
      });
      return;
    }
    if (request.method === "GET" && url.pathname === "/api/metrics") {
      return json(response, 200, { ticks: feed.costs.length, costs: feed.costs, pages: feed.pages.size });
    }
    if (request.method === "GET" && url.pathname === "/api/experiments") {
      return json(response, 200, experiments.map(({ dir, ...experiment }) => ({ ...experiment, dir })));
    }
    const plot = /^\/api\/experiments\/(\d+)\/([^/]+\.svg)$/.exec(url.pathname);
    if (request.method === "GET" && plot) {
      const experiment = experiments.find((candidate) => candidate.id === plot[1]);
      if (!experiment || !experiment.plots.includes(plot[2]!)) return json(response, 404, { error: { message: "no such plot" } });
      let svg: Buffer;
      try {
        svg = await readOwnFile(experiment.dir, plot[2]!);
      } catch {
        return json(response, 404, { error: { message: "no such plot (a link is not followed)" } });
      }
      response.writeHead(200, { ...SAFE_HEADERS, "content-security-policy": PLOT_POLICY, "content-type": "image/svg+xml" });
      response.end(svg);
      return;
    }
    const action = /^\/api\/actions\/([a-z]+)$/.exec(url.pathname);
    if (action) {
      if (request.method !== "POST") return json(response, 405, { error: { message: "actions are POST requests" } });
      // A JSON content type cannot be sent across origins without a preflight, which is never answered.
      if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
        return json(response, 415, { error: { message: "actions take a JSON body (content-type: application/json)" } });
      }
      let body: unknown;
      try {
        body = await readBody(request);
      } catch (error) {
        return json(response, error instanceof BodyTooLarge ? 413 : 400, { ok: false, verb: action[1], error: errorBody(error) });
      }
      return act(action[1]!, body, response);
    }
    return json(response, 404, { error: { message: `no such API: ${request.method} ${url.pathname}` } });
  }

  async function act(verb: string, body: unknown, response: ServerResponse): Promise<void> {
    let parsed;
    try {
      parsed = parseAction(verb, body);
    } catch (error) {
      return json(response, 400, { ok: false, verb, error: errorBody(error) });
    }
    if (busy !== null) {
      return json(response, 409, { ok: false, verb, error: errorBody(new LabError(`another action is running: ${busy}`, { hint: "wait for it to finish" })) });
    }
    const label = `${verb}${"node" in parsed ? ` ${parsed.node}` : ""}`;
    busy = label;
    feed.send("action", { time: new Date().toISOString(), state: "started", action: parsed });
    const started = performance.now();
    try {
      const lab = await Lab.attach(options.lab, { runtime });
      const result = await lab.act(parsed);
      const elapsed_ms = Math.round(performance.now() - started);
      feed.send("action", { time: new Date().toISOString(), state: "done", action: parsed, elapsed_ms });
      json(response, 200, { ok: true, verb: verb as ActionVerb, action: parsed, elapsed_ms, result });
    } catch (error) {
      const body = errorBody(error);
      feed.send("action", { time: new Date().toISOString(), state: "failed", action: parsed, error: body });
      json(response, error instanceof UsageError ? 400 : error instanceof ReplLabError ? 409 : 500, { ok: false, verb, action: parsed, error: body });
    } finally {
      busy = null;
    }
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: errorBody(error) });
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new UsageError(`port ${options.port} is taken on 127.0.0.1`, { hint: "pick another with --port, or leave it out for a free one" }) : error),
    );
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    token,
    port,
    async close() {
      stop.abort();
      for (const page of feed.pages) page.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await watching;
    },
  };
}

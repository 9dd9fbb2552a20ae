// npm run bench (BENCH_ONLY=dashboard): the dashboard on a big lab (16 followers by default), seen
// in Debian's Chromium. What it costs the server per look (reading the lab, CPU, pushing to the
// page) against the same look taken by `repl-lab status --json` in a new process, run alternately;
// how long a look takes from its arrival in the page to the frame that shows it painted (target:
// p95 ≤ 50 ms), at the top of the page as it opens and with the lag charts in view; and how long a
// change (kill standby1 on FIRST 1 (standby1, standby2)) takes to appear in the page, against the
// look interval it cannot beat.
// BENCH_DASHBOARD_FOLLOWERS (16), BENCH_DASHBOARD_TRIALS (5), BENCH_DASHBOARD_LOOKS (60: the page's
// draw measured over at least that many looks in each place), CHROMIUM_PATH (/usr/bin/chromium).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Chalk } from "chalk";
import { chromium, type Page } from "playwright-core";
import { Lab } from "../api.js";
import { table } from "../views/table.js";

const CLI = fileURLToPath(new URL("../../bin/repl-lab.cjs", import.meta.url));
const FOLLOWERS = Number(process.env.BENCH_DASHBOARD_FOLLOWERS ?? 16);
const TRIALS = Number(process.env.BENCH_DASHBOARD_TRIALS ?? 5);
const LOOKS = Number(process.env.BENCH_DASHBOARD_LOOKS ?? 60);
const INTERVAL_MS = 1000;
/** The page must draw a look of a 16-follower lab within this (p95), to stay smooth at one look a second. */
const DRAW_TARGET_MS = 50;
const colour = new Chalk({ level: process.stdout.isTTY && !process.env.NO_COLOR ? 1 : 0 });

interface TickCost {
  read_ms: number;
  publish_ms: number;
  cpu_ms: number;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function timed(args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: "ignore", env: { ...process.env, NO_COLOR: "1" } });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`repl-lab ${args.join(" ")} exited ${code}`))));
  });
}

function serve(lab: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, "dashboard", "--lab", lab, "--interval", `${INTERVAL_MS}ms`], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^(http:\S+)\n/m.exec(out);
      if (line) resolve({ child, url: line[1]! });
    });
    child.on("close", (code) => reject(new Error(`repl-lab dashboard exited ${code}`)));
  });
}

/** What the bench reads in the page; functions run there, so they need no DOM types here. */
interface InPage {
  document: { querySelector(css: string): { textContent: string | null } | null; body: object };
  MutationObserver: new (callback: () => void) => { observe(target: object, options: object): void; disconnect(): void };
  setTimeout(callback: () => void, ms: number): number;
  clearTimeout(timer: number): void;
  replLabDashboard: { drawMs: number[]; scriptMs: number[] };
}

/**
 * Resolves once the page shows `syncState` for `node`, within a minute. The page tells (a
 * MutationObserver) rather than being polled: polling every few ms would be work for the page that
 * its draw times would then include.
 */
async function shows(page: Page, node: string, syncState: string): Promise<void> {
  const cell = `#replication tr[data-application-name="${node}"] td[data-col="sync_state"]`;
  await page.evaluate(
    ([css, wanted, timeoutMs]) =>
      new Promise<void>((resolve, reject) => {
        const { document, MutationObserver, setTimeout, clearTimeout } = globalThis as unknown as InPage;
        const shown = () => document.querySelector(css)?.textContent === wanted;
        if (shown()) return resolve();
        const observer = new MutationObserver(() => {
          if (!shown()) return;
          observer.disconnect();
          clearTimeout(late);
          resolve();
        });
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        const late = setTimeout(() => {
          observer.disconnect();
          reject(new Error(`the page did not show ${css} as ${wanted} within ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }),
    [cell, syncState, 60_000] as const,
  );
}

/**
 * CPU time (ms) the Chromium renderers started by this process have used, from Linux's /proc (null
 * elsewhere): what drawing costs whatever else the machine is doing, which the wall times are not.
 */
function rendererCpuMs(): number | null {
  try {
    const processes = new Map<number, { parent: number; ticks: number; renderer: boolean }>();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const renderer = readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("--type=renderer");
        processes.set(Number(entry), { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), renderer });
      } catch {
        // It ended while being read.
      }
    }
    const ours = (pid: number): boolean => {
      for (let up = processes.get(pid)?.parent; up !== undefined && up > 1; up = processes.get(up)?.parent) if (up === process.pid) return true;
      return false;
    };
    let ticks = 0;
    for (const [pid, entry] of processes) if (entry.renderer && ours(pid)) ticks += entry.ticks;
    // utime and stime are in clock ticks, 100 a second on Linux.
    return ticks * 10;
  } catch {
    return null;
  }
}

/** The page's draw over some looks: per look, and the renderer's CPU and the machine's load over them. */
interface DrawWindow {
  drawMs: number[];
  scriptMs: number[];
  cpuPerLook: number | null;
  load: [number, number];
}

/** Measures at least `looks` looks of the page from now on, while `meanwhile` runs. */
async function measureDraw(page: Page, looks: number, meanwhile: () => Promise<void>): Promise<DrawWindow> {
  const looksDrawn = () => page.evaluate(() => (globalThis as unknown as InPage).replLabDashboard.drawMs.length);
  const from = { cpu: rendererCpuMs(), looks: await looksDrawn(), load: loadavg()[0]! };
  await meanwhile();
  // Polled once a look, which costs the page nothing to speak of.
  await page.waitForFunction((enough) => (globalThis as unknown as InPage).replLabDashboard.drawMs.length >= enough, from.looks + looks, {
    polling: INTERVAL_MS,
    timeout: (looks + 60) * INTERVAL_MS,
  });
  const to = { cpu: rendererCpuMs(), looks: await looksDrawn(), load: loadavg()[0]! };
  // The page keeps the last 600 of each.
  const timings = await page.evaluate(([first, last]) => {
    const { drawMs, scriptMs } = (globalThis as unknown as InPage).replLabDashboard;
    return { drawMs: drawMs.slice(first, last), scriptMs: scriptMs.slice(first, last) };
  }, [from.looks, to.looks] as const);
  const cpuPerLook = from.cpu === null || to.cpu === null ? null : (to.cpu - from.cpu) / (to.looks - from.looks);
  return { ...timings, cpuPerLook, load: [from.load, to.load] };
}

export async function dashboardBench(): Promise<string> {
  const lab = `bench-dash-${randomBytes(3).toString("hex")}`;
  process.stderr.write(`dashboard: bringing up a leader and ${FOLLOWERS} followers\n`);
  await using handle = await Lab.up({ name: lab, followers: FOLLOWERS, sync: "FIRST 1 (standby1, standby2)", waitTimeout: "300s" });
  const { child, url } = await serve(handle.name);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(url);
    await shows(page, "standby1", "sync");

    // The server's looks while the page is open, and `status --json` in a new process between them
    // (not while the page's draw is measured: ten Node processes take a core between them).
    const oneShot: number[] = [];
    for (let run = 0; run < 10; run++) oneShot.push(await timed(["status", "--lab", handle.name, "--json"]));

    // The top of the page, as it opens (topology, events, nodes), while the lab changes.
    const latencies: number[] = [];
    const top = await measureDraw(page, LOOKS, async () => {
      for (let trial = 0; trial < TRIALS; trial++) {
        process.stderr.write(`dashboard: trial ${trial + 1} of ${TRIALS}: kill standby1, wait for the page to show standby2 as sync\n`);
        await handle.kill("standby1");
        const killed = performance.now();
        await shows(page, "standby2", "sync");
        latencies.push(performance.now() - killed);
        await handle.start("standby1");
        await shows(page, "standby1", "sync");
      }
    });
    // The lag charts in view, the page's costliest part: every chart redrawn at every look.
    process.stderr.write(`dashboard: ${LOOKS} looks with the lag charts in view\n`);
    await page.locator("#lag-charts").scrollIntoViewIfNeeded();
    const charts = await measureDraw(page, LOOKS, async () => undefined);

    const token = new URL(url).searchParams.get("token")!;
    const metrics = (await (await fetch(new URL("/api/metrics", url), { headers: { "x-repl-lab-token": token } })).json()) as { costs: TickCost[] };
    const costs = metrics.costs.slice(2);

    const row = (name: string, values: number[], note: string, target = ["", ""]) => [
      name, values.length, quantile(values, 0.5).toFixed(1), quantile(values, 0.95).toFixed(1), Math.max(...values).toFixed(1), ...target, note,
    ];
    const drawTarget = (values: number[]) => [`p95 ≤ ${DRAW_TARGET_MS}`, quantile(values, 0.95) <= DRAW_TARGET_MS ? "met" : "NOT met"];
    const out = table(["measure (ms)", "n", "p50", "p95", "max", "target", "", "against"], colour);
    out.push(row("server: reading the lab per look", costs.map((cost) => cost.read_ms), "the same look by status --json, below"));
    out.push(row("server: CPU per look", costs.map((cost) => cost.cpu_ms), `the ${INTERVAL_MS} ms between looks`));
    out.push(row("server: pushing a look to the page", costs.map((cost) => cost.publish_ms), ""));
    out.push(row("baseline: repl-lab status --json (new process)", oneShot, "same lab, same moments"));
    out.push(row("page: a look's arrival → its frame painted, top", top.drawMs, `the ${INTERVAL_MS} ms between looks`, drawTarget(top.drawMs)));
    out.push(row("  of which the page's script", top.scriptMs, ""));
    out.push(row("page: the same, the lag charts in view", charts.drawMs, `the ${INTERVAL_MS} ms between looks`, drawTarget(charts.drawMs)));
    out.push(row("  of which the page's script", charts.scriptMs, ""));
    out.push(row("kill standby1 → page shows standby2 sync", latencies, `floor: up to one look interval (${INTERVAL_MS} ms) + a look`));
    const conditions = (name: string, window: DrawWindow) =>
      `${name}: load average ${window.load[0].toFixed(1)} → ${window.load[1].toFixed(1)} on ${availableParallelism()} cores` +
      (window.cpuPerLook === null ? "" : `, Chromium's renderer used ${window.cpuPerLook.toFixed(1)} ms of CPU per look (all its threads)`);
    return [
      `dashboard on a leader + ${FOLLOWERS} followers, FIRST 1 (standby1, standby2), a look every ${INTERVAL_MS} ms, Chromium at 1400×1000`,
      out.toString(),
      conditions("top of the page, kills included", top),
      conditions("the lag charts in view", charts),
    ].join("\n");
  } finally {
    await browser.close();
    child.kill("SIGINT");
  }
}

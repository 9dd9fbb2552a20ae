/// <reference lib="dom" />
// The dashboard as a person uses it: the built CLI serves the page, Debian's Chromium (driven by
// playwright-core) shows it, and the lab behind it is real. A screenshot goes to test-artifacts/.
import type { ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { labsRemovedAfterAll, runCli, runJson, type CliResult, type StatusJson } from "../helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;
const newLab = labsRemovedAfterAll(afterAll);

interface Served {
  url: string;
  port: number;
  token: string;
  child: ChildProcess;
  exited: Promise<CliResult>;
}

/** Starts `repl-lab dashboard` and resolves once it printed its URL. */
async function serve(args: string[]): Promise<Served> {
  let child: ChildProcess | undefined;
  let printed: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (printed = resolve));
  const exited = runCli(["dashboard", "--port", "0", ...args], {
    timeoutMs: 600_000,
    onSpawn: (spawned) => {
      child = spawned;
      let out = "";
      spawned.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const line = /^(http:\/\/127\.0\.0\.1:\d+\/\?token=\w+)\n/m.exec(out);
        if (line) printed(line[1]!);
      });
    },
  });
  const first = await Promise.race([url, exited.then((result) => { throw new Error(`dashboard exited ${result.code}: ${result.stderr}`); })]);
  const parsed = new URL(first);
  return { url: first, port: Number(parsed.port), token: parsed.searchParams.get("token")!, child: child!, exited };
}

async function stopServing(served: Served | undefined): Promise<CliResult | undefined> {
  if (!served) return undefined;
  served.child.kill("SIGINT");
  return served.exited;
}

/** A raw request, so that Host and Origin can be anything a hostile page could send. */
function call(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: { host: `127.0.0.1:${port}`, ...options.headers } }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ code: response.statusCode!, body }));
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

const syncStateCell = (node: string) => `#replication tr[data-application-name="${node}"] td[data-col="sync_state"]`;

async function cellText(page: Page, selector: string): Promise<string | null> {
  return page.evaluate((css) => document.querySelector(css)?.textContent ?? null, selector);
}

/** Waits until the page (never reloaded) shows `text` in the element `selector`; returns how long that took. */
async function pageShows(page: Page, selector: string, text: string, timeoutMs = 20_000): Promise<number> {
  const started = performance.now();
  try {
    await page.waitForFunction(([css, wanted]) => document.querySelector(css!)?.textContent === wanted, [selector, text] as const, { timeout: timeoutMs, polling: 50 });
  } catch {
    throw new Error(`the page did not show "${text}" in ${selector} within ${timeoutMs / 1000} s (it shows ${JSON.stringify(await cellText(page, selector))})`);
  }
  return Math.round(performance.now() - started);
}

describe("repl-lab dashboard", () => {
  let browser: Browser | undefined;
  let served: Served | undefined;
  let page: Page;
  let lab = "";
  /** What the browser refused or the page threw: the page must work within its Content-Security-Policy. */
  const problems: string[] = [];

  beforeAll(async () => {
    lab = newLab("dash");
    await runJson(["up", "--lab", lab, "--followers", "2", "--sync", "FIRST 1 (standby1, standby2)"]);
    served = await serve(["--lab", lab, "--interval", "500ms", "--experiments", "docs/experiments/commit-latency-network", "docs/experiments/failover-loss"]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
    await page.goto(served.url);
  });

  afterAll(async () => {
    await browser?.close();
    const exited = await stopServing(served);
    // Ctrl-C stops the page and leaves the lab; the exit is a clean one.
    if (exited) expect(exited.code).toBe(0);
  });

  it("names every node, in the graph and in the tables, and shows FIRST 1 as sync and potential", async () => {
    await pageShows(page, syncStateCell("standby1"), "sync");
    await pageShows(page, syncStateCell("standby2"), "potential");
    for (const node of ["leader", "standby1", "standby2"]) {
      expect(await cellText(page, `#nodes tr[data-node="${node}"] td[data-col="name"]`)).toBe(node);
      expect(await page.locator("#topology svg text", { hasText: node }).count()).toBeGreaterThan(0);
    }
    expect(await cellText(page, '#nodes tr[data-node="leader"] td[data-col="role"]')).toBe("primary");
    expect(await page.locator('.lag-chart[data-follower="standby1"]').count()).toBe(1);
    // The experiments given with --experiments show their conclusion and plots.
    expect(await page.locator('#experiments article[data-experiment="commit-latency"] img').count()).toBeGreaterThan(0);
    expect(await page.locator('#experiments img').evaluateAll((images) => images.every((image) => (image as HTMLImageElement).naturalWidth > 0))).toBe(true);
    expect(problems).toEqual([]);
  });

  it("after `repl-lab kill standby1` the page shows standby2 as sync, standby1 exited and the event, without a reload", async () => {
    const killed = await runCli(["kill", "--lab", lab, "standby1"]);
    expect(killed.code).toBe(0);
    const shownAfter = await pageShows(page, syncStateCell("standby2"), "sync");
    console.log(`standby2 shown as sync ${shownAfter} ms after kill returned`);
    await pageShows(page, '#nodes tr[data-node="standby1"] td[data-col="container_state"]', "exited");
    expect(await page.locator('#events li[data-node="standby2"][data-field="sync_state"]', { hasText: "potential → sync" }).count()).toBe(1);
    expect(await page.locator("#topology svg text", { hasText: "exited" }).count()).toBeGreaterThan(0);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-after-kill.png`, fullPage: true });
  });

  it("a cancelled action does nothing; a confirmed one does what the CLI does (start standby1) and shows its result", async () => {
    await page.click('#nodes tr[data-node="standby2"] button[data-verb="kill"]');
    await page.waitForSelector("#confirm[open]");
    await page.click("#confirm-cancel");
    await page.waitForSelector("#confirm", { state: "hidden" });
    expect((await runJson<StatusJson>(["status", "--lab", lab])).nodes.find((node) => node.name === "standby2")?.container_state).toBe("running");

    await page.click('#nodes tr[data-node="standby1"] button[data-verb="start"]');
    await page.waitForSelector("#confirm[open]");
    expect(await page.textContent("#confirm-text")).toContain("start standby1");
    await page.click("#confirm-ok");
    await page.waitForSelector('#action-result[data-outcome="done"]', { timeout: 120_000 });
    expect(await page.textContent("#action-result")).toContain('"node": "standby1"');
    await pageShows(page, syncStateCell("standby1"), "sync", 60_000);
    await pageShows(page, syncStateCell("standby2"), "potential");
    const status = await runJson<StatusJson>(["status", "--lab", lab]);
    expect(status.nodes.find((node) => node.name === "standby1")?.container_state).toBe("running");

    // A bad action says why, in the page, and changes nothing.
    await page.fill("#sync-spec", "FIRST 1 (nosuchnode)");
    await page.click('button[data-verb="sync"][data-field="set"]');
    await page.click("#confirm-ok");
    await page.waitForSelector('#action-result[data-outcome="failed"]');
    expect(await page.textContent("#action-result")).toContain("nosuchnode");
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
  });

  it("the API: status as `status --json`, and nothing without the token, from another origin or for another host", async () => {
    const { port, token } = served!;
    const status = await call(port, "/api/status", { headers: { "x-repl-lab-token": token } });
    expect(status.code).toBe(200);
    const fromCli = await runJson<StatusJson>(["status", "--lab", lab]);
    const fromApi = JSON.parse(status.body) as StatusJson;
    expect(Object.keys(fromApi).sort()).toEqual(Object.keys(fromCli).sort());
    expect(fromApi.nodes.map((node) => `${node.name}:${node.role}`)).toEqual(fromCli.nodes.map((node) => `${node.name}:${node.role}`));

    const kill = (headers: Record<string, string>) =>
      call(port, "/api/actions/kill", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ node: "standby2" }) });
    expect((await call(port, "/api/status")).code).toBe(401);
    expect((await call(port, `/api/status?token=${"0".repeat(token.length)}`)).code).toBe(401);
    expect((await kill({})).code).toBe(401);
    expect((await kill({ "x-repl-lab-token": token, origin: "http://evil.example" })).code).toBe(403);
    expect((await kill({ "x-repl-lab-token": token, host: `evil.example:${port}` })).code).toBe(403);
    expect((await call(port, "/api/actions/kill", { method: "POST", headers: { "x-repl-lab-token": token, "content-type": "text/plain" }, body: '{"node":"standby2"}' })).code).toBe(415);
    const unknown = await call(port, "/api/actions/explode", { method: "POST", headers: { "x-repl-lab-token": token, "content-type": "application/json" }, body: "{}" });
    expect(unknown.code).toBe(400);
    expect(JSON.parse(unknown.body).error.message).toContain('unknown action "explode"');
    // None of the refused kills happened.
    expect((await runJson<StatusJson>(["status", "--lab", lab])).nodes.find((node) => node.name === "standby2")?.container_state).toBe("running");
  });

  it("waits for a lab that is not there yet, shows it when it comes up, and says so when it goes down", async () => {
    const later = newLab("dash-later");
    const waiting = await serve(["--lab", later, "--interval", "500ms"]);
    const second = await browser!.newPage();
    try {
      await second.goto(waiting.url);
      await second.waitForSelector("#problem:not([hidden])");
      expect(await second.textContent("#problem")).toContain(later);
      expect((await call(waiting.port, "/api/status", { headers: { "x-repl-lab-token": waiting.token } })).code).toBe(409);
      await runJson(["up", "--lab", later, "--followers", "1"]);
      await pageShows(second, syncStateCell("standby1"), "async");
      expect(await second.isHidden("#problem")).toBe(true);
      expect((await runCli(["down", "--lab", later])).code).toBe(0);
      await second.waitForSelector("#problem:not([hidden])", { timeout: 20_000 });
    } finally {
      await second.close();
      await stopServing(waiting);
    }
  });
});

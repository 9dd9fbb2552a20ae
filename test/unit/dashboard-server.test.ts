// The dashboard's server under load and hostile input, fed by scripted looks at a lab (the page and
// a real lab are tested in test/integration/dashboard.test.ts): bounded streams, the headers that
// keep the page and its plots from being framed or scripted, links out of an experiments folder, and
// the status codes of bodies that are too large.
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sleep, retryUntil } from "../../src/core/retry.js";
import type { LabStatus } from "../../src/core/status.js";
import { MAX_STREAMS, startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import type { LabTick } from "../../src/lab/watch.js";
import { FakeEngine, fakeRuntime } from "../fakes.js";

const status = (padding = ""): LabStatus => ({ lab: "fake", nodes: [], replication: [], slots: [], warnings: padding ? [padding] : [], partition: null });

/** Looks as fast as the server takes them, each about `bytes` long, until the dashboard closes. */
function floodOfLooks(bytes: number): (signal: AbortSignal) => AsyncIterable<LabTick> {
  return async function* (signal) {
    const padding = "x".repeat(bytes);
    while (!signal.aborted) {
      yield { time: new Date().toISOString(), status: status(padding), events: [], read_ms: 0 };
      await sleep(0);
    }
  };
}

/** One look, then nothing until the dashboard closes. */
function oneLook(): (signal: AbortSignal) => AsyncIterable<LabTick> {
  return async function* (signal) {
    yield { time: new Date().toISOString(), status: status(), events: [], read_ms: 0 };
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  };
}

function call(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ code: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: { host: `127.0.0.1:${port}`, ...options.headers } }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ code: response.statusCode!, headers: response.headers, body }));
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

let dashboard: Dashboard | undefined;
afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
});

const start = async (options: { looks: (signal: AbortSignal) => AsyncIterable<LabTick>; experiments?: string[] }) => {
  dashboard = await startDashboard(fakeRuntime(new FakeEngine(), () => []), { lab: "fake", port: 0, intervalMs: 10, ...options });
  return dashboard;
};

describe("the dashboard's server", () => {
  it("closes a stream whose reader stopped reading, instead of buffering for it without end", async () => {
    const { port, token } = await start({ looks: floodOfLooks(20_000) });
    const socket = connect(port, "127.0.0.1");
    let received = 0;
    socket.on("data", (chunk) => (received += chunk.length));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write(`GET /api/events?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await retryUntil(async () => (received > 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10, onTimeout: () => new Error("no hello") });
    socket.pause(); // a tab in the background, a script that hung: nothing more is read
    const memory = process.memoryUsage().rss;
    const pages = async () => (JSON.parse((await call(port, `/api/metrics?token=${token}`)).body) as { pages: number }).pages;
    // Some megabytes a second are published; past its bound the stream is dropped, not kept.
    await retryUntil(async () => ((await pages()) === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      onTimeout: () => new Error("the server kept the stream of a reader that stopped"),
    });
    expect(process.memoryUsage().rss - memory).toBeLessThan(64 * 1024 * 1024);
    socket.resume(); // what was sent before the drop is read, then the end
    await closed;
  });

  it(`refuses more than ${MAX_STREAMS} event streams at once with 429`, async () => {
    const { port, token } = await start({ looks: oneLook() });
    const sockets = Array.from({ length: MAX_STREAMS }, () => {
      const socket = connect(port, "127.0.0.1");
      socket.write(`GET /api/events?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      return socket;
    });
    try {
      await retryUntil(async () => ((JSON.parse((await call(port, `/api/metrics?token=${token}`)).body) as { pages: number }).pages === MAX_STREAMS ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 20,
        onTimeout: () => new Error("the streams did not open"),
      });
      const refused = await call(port, `/api/events?token=${token}`);
      expect(refused.code).toBe(429);
      expect(JSON.parse(refused.body).error.message).toBe(`${MAX_STREAMS} event streams are open already`);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  it("serves the page with a policy that allows only its own scripts, and no framing or referrer", async () => {
    const { port } = await start({ looks: oneLook() });
    for (const path of ["/", "/assets/app.js"]) {
      const { code, headers } = await call(port, path);
      expect(code).toBe(200);
      expect(headers["content-security-policy"]).toContain("script-src 'self'");
      expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(headers["x-frame-options"]).toBe("DENY");
      expect(headers["referrer-policy"]).toBe("no-referrer");
    }
    expect((await call(port, "/api/status")).headers["referrer-policy"]).toBe("no-referrer");
  });

  it("serves an experiment's plot as a sandbox where no script runs, and follows no link out of its folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "repl-lab-dashboard-unit-"));
    const results = join(dir, "results");
    mkdirSync(results);
    writeFileSync(join(results, "result.json"), JSON.stringify({ experiment: "lag", conclusion: "c", config: {}, results: [] }));
    writeFileSync(join(results, "lag.svg"), '<svg xmlns="http://www.w3.org/2000/svg"><script>fetch("/api/status")</script></svg>');
    writeFileSync(join(dir, "secret.svg"), "<svg>outside the folder</svg>");
    symlinkSync(join(dir, "secret.svg"), join(results, "linked.svg"));
    const { port, token } = await start({ looks: oneLook(), experiments: [results] });
    const listed = JSON.parse((await call(port, `/api/experiments?token=${token}`)).body) as { plots: string[] }[];
    expect(listed[0]!.plots).toEqual(["lag.svg"]);
    const plot = await call(port, `/api/experiments/0/lag.svg?token=${token}`);
    expect(plot.code).toBe(200);
    expect(plot.headers["content-security-policy"]).toMatch(/default-src 'none'.*sandbox/);
    expect((await call(port, `/api/experiments/0/linked.svg?token=${token}`)).code).toBe(404);
  });

  it("answers a body over the limit with 413 and one that is not JSON with 400, not 500", async () => {
    const { port, token } = await start({ looks: oneLook() });
    const headers = { "content-type": "application/json", "x-repl-lab-token": token };
    const large = await call(port, "/api/actions/kill", { method: "POST", headers, body: JSON.stringify({ node: "x".repeat(100_000) }) });
    expect(large.code).toBe(413);
    expect(JSON.parse(large.body).error.message).toContain("over 64 KiB");
    expect((await call(port, "/api/actions/kill", { method: "POST", headers, body: "{not json" })).code).toBe(400);
  });
});

// The HTTP clients of Patroni's and etcd's APIs, against a local server answering as they do (the
// bodies were taken from Patroni 4.0 and etcd 3.5): what each answer becomes, and how each failure
// is classified and named. The real services are spoken to in test/integration/ha*.test.ts.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HaApiError } from "../../src/core/ha-client.js";
import { httpHaClients } from "../../src/ha/http.js";

type Handler = (request: IncomingMessage, body: string) => { status: number; body: string } | "hang";

let handle: Handler = () => ({ status: 404, body: "" });
const received: { method: string; url: string; body: string; authorization?: string }[] = [];
const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    received.push({ method: request.method!, url: request.url!, body, authorization: request.headers.authorization });
    const answer = handle(request, body);
    if (answer === "hang") return;
    response.writeHead(answer.status).end(answer.body);
  });
});
let port = 0;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const clients = httpHaClients();
const patroni = () => clients.patroni({ member: "standby1", host: "127.0.0.1", port });
const etcd = () => clients.etcd({ member: "etcd2", host: "127.0.0.1", port });

/** A port nothing listens on: one the system gave, closed again. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port: free } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return free;
}

async function failure(call: Promise<unknown>): Promise<HaApiError> {
  const error = await call.then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(HaApiError);
  return error as HaApiError;
}

describe("the Patroni client", () => {
  it("reads /cluster as Patroni gives it", async () => {
    handle = () => ({
      status: 200,
      body: JSON.stringify({
        members: [
          { name: "leader", role: "leader", state: "running", api_url: "http://leader:8008/patroni", host: "leader", port: 5432, timeline: 1 },
          { name: "standby2", role: "replica", state: "streaming", timeline: 1, tags: { nosync: true }, lag: 0 },
        ],
        scope: "demo",
      }),
    });
    expect((await patroni().cluster()).members.map((member) => [member.name, member.role, member.tags?.nosync ?? false])).toEqual([
      ["leader", "leader", false],
      ["standby2", "replica", true],
    ]);
  });

  it("gives Patroni's refusal in its words with the HTTP status, naming the member", async () => {
    handle = () => ({ status: 412, body: "candidate name does not match with sync_standby" });
    const error = await failure(patroni().switchover({ leader: "leader", candidate: "standby2" }));
    expect(error).toMatchObject({ service: "Patroni", member: "standby1", kind: "refused", status: 412, said: "candidate name does not match with sync_standby" });
    expect(error.message).toBe("standby1's Patroni refused POST /switchover: candidate name does not match with sync_standby (HTTP 412)");
    expect(received.at(-1)).toEqual({ method: "POST", url: "/switchover", body: '{"leader":"leader","candidate":"standby2"}', authorization: undefined });
  });

  it("calls an answer that is not what the API documents a bad answer, not an empty cluster", async () => {
    handle = () => ({ status: 200, body: "<html>proxy</html>" });
    expect(await failure(patroni().cluster())).toMatchObject({ kind: "bad-answer", said: "not JSON: <html>proxy</html>" });
    handle = () => ({ status: 200, body: '{"scope": "demo"}' });
    expect(await failure(patroni().cluster())).toMatchObject({ kind: "bad-answer", message: 'standby1\'s Patroni gave an unreadable answer to GET /cluster: {"scope": "demo"}' });
  });

  it("sends PATCH /config with the change and gives back the configuration in force", async () => {
    handle = (_request, body) => ({ status: 200, body: JSON.stringify({ ttl: 20, loop_wait: 1, ...JSON.parse(body) }) });
    expect(await patroni().patchConfig({ synchronous_mode: "quorum" })).toEqual({ ttl: 20, loop_wait: 1, synchronous_mode: "quorum" });
    expect(received.at(-1)).toMatchObject({ method: "PATCH", url: "/config" });
  });

  it("calls a member that does not answer in time, or refuses the connection, unreachable", async () => {
    handle = () => "hang";
    const slow = await failure(patroni().cluster());
    expect(slow).toMatchObject({ kind: "unreachable", said: "no answer within 1.5 s" });
    const closed = clients.patroni({ member: "leader", host: "127.0.0.1", port: await closedPort() });
    expect(await failure(closed.config())).toMatchObject({ member: "leader", kind: "unreachable", said: "ECONNREFUSED" });
  });

  it("sends the lab's user as basic authentication, which Patroni asks for on its unsafe requests", async () => {
    handle = (request) => (request.headers.authorization === `Basic ${Buffer.from("repl-lab:s3cret").toString("base64")}` ? { status: 200, body: "reinitialize started" } : { status: 401, body: "not authenticated" });
    const client = clients.patroni({ member: "standby2", host: "127.0.0.1", port, credentials: { username: "repl-lab", password: "s3cret" } });
    expect(await client.reinitialize({ force: true })).toBe("reinitialize started");
    expect(await failure(patroni().reinitialize({ force: true }))).toMatchObject({ kind: "refused", status: 401, said: "not authenticated" });
  });
});

describe("the etcd client as a user", () => {
  const RANGE_ANSWER = JSON.stringify({ header: { revision: "7" }, kvs: [{ value: Buffer.from("leader").toString("base64") }] });
  const etcdAnswering = (tokens: string[]): Handler => (request, body) => {
    if (request.url === "/v3/auth/authenticate") {
      const { name, password } = JSON.parse(body);
      if (name !== "root" || password !== "pw") return { status: 400, body: JSON.stringify({ code: 3, message: "etcdserver: authentication failed, invalid user ID or password" }) };
      tokens.push(`token${tokens.length + 1}`);
      return { status: 200, body: JSON.stringify({ header: {}, token: tokens.at(-1) }) };
    }
    if (request.url === "/v3/kv/range" && request.headers.authorization !== tokens.at(-1)) {
      return request.headers.authorization === undefined
        ? { status: 400, body: JSON.stringify({ code: 3, message: "etcdserver: user name is empty" }) }
        : { status: 401, body: JSON.stringify({ code: 16, message: "etcdserver: invalid auth token" }) };
    }
    return { status: 200, body: request.url === "/v3/kv/range" ? RANGE_ANSWER : JSON.stringify({ header: { member_id: "1" }, raftTerm: "2", raftIndex: "3", leader: "1" }) };
  };

  it("authenticates once for its key reads and keeps the token; its status needs none", async () => {
    const tokens: string[] = [];
    handle = etcdAnswering(tokens);
    const own = httpHaClients();
    const client = () => own.etcd({ member: "etcd1", host: "127.0.0.1", port, credentials: { username: "root", password: "pw" } });
    received.length = 0;
    expect(await client().get("/service/demo/leader")).toEqual({ value: "leader", revision: 7 });
    expect(await client().get("/service/demo/leader")).toEqual({ value: "leader", revision: 7 });
    await client().status();
    expect(received.map((request) => `${request.url} ${request.authorization ?? "-"}`)).toEqual([
      "/v3/auth/authenticate -",
      "/v3/kv/range token1",
      "/v3/kv/range token1",
      "/v3/maintenance/status -",
    ]);
  });

  it("authenticates again once when etcd no longer takes the token, and fails on a wrong password", async () => {
    const tokens: string[] = [];
    handle = etcdAnswering(tokens);
    const own = httpHaClients();
    const endpoint = { member: "etcd1", host: "127.0.0.1", port, credentials: { username: "root", password: "pw" } };
    await own.etcd(endpoint).get("/k");
    tokens.push("issued-elsewhere");
    received.length = 0;
    expect(await own.etcd(endpoint).get("/k")).toEqual({ value: "leader", revision: 7 });
    expect(received.map((request) => `${request.url} ${request.authorization ?? "-"}`)).toEqual(["/v3/kv/range token1", "/v3/auth/authenticate -", "/v3/kv/range token3"]);
    const wrong = await failure(own.etcd({ ...endpoint, credentials: { username: "root", password: "nope" } }).get("/k"));
    expect(wrong).toMatchObject({ kind: "refused", message: "etcd1's etcd refused POST /v3/auth/authenticate: etcdserver: authentication failed, invalid user ID or password (HTTP 400)" });
  });

  it("reads without a token while etcd's authentication is not on yet", async () => {
    handle = (request) =>
      request.url === "/v3/auth/authenticate"
        ? { status: 400, body: JSON.stringify({ code: 9, message: "etcdserver: authentication is not enabled" }) }
        : { status: 200, body: RANGE_ANSWER };
    received.length = 0;
    expect(await httpHaClients().etcd({ member: "etcd1", host: "127.0.0.1", port, credentials: { username: "root", password: "pw" } }).get("/k")).toEqual({ value: "leader", revision: 7 });
    expect(received.map((request) => `${request.url} ${request.authorization ?? "-"}`)).toEqual(["/v3/auth/authenticate -", "/v3/kv/range -"]);
  });
});

describe("the etcd client", () => {
  it("reads a member's status with its ids in hex, and no leader as null", async () => {
    handle = () => ({
      status: 200,
      body: JSON.stringify({ header: { member_id: "5869897338394801384", raft_term: "2" }, leader: "5869897338394801384", raftIndex: "51", raftTerm: "2" }),
    });
    expect(await etcd().status()).toEqual({ member_id: "517610877b0874e8", leader: "517610877b0874e8", raft_term: 2, raft_index: 51 });
    handle = () => ({ status: 200, body: JSON.stringify({ header: { member_id: "5869897338394801384" }, leader: "0", raftIndex: "51", raftTerm: "3" }) });
    expect((await etcd().status()).leader).toBeNull();
  });

  it("reads a key, base64 both ways, and a missing key as null", async () => {
    handle = (_request, body) =>
      JSON.parse(body).key === Buffer.from("/service/demo/leader").toString("base64")
        ? { status: 200, body: JSON.stringify({ header: { revision: "38" }, kvs: [{ key: "…", value: Buffer.from("standby1").toString("base64") }], count: "1" }) }
        : { status: 200, body: JSON.stringify({ header: { revision: "38" } }) };
    expect(await etcd().get("/service/demo/leader")).toEqual({ value: "standby1", revision: 38 });
    expect(await etcd().get("/service/demo/other")).toEqual({ value: null, revision: 38 });
  });

  it("gives the gateway's error message as the refusal", async () => {
    handle = () => ({ status: 401, body: JSON.stringify({ error: "etcdserver: user name is empty", code: 16, message: "etcdserver: user name is empty" }) });
    expect(await failure(etcd().get("/service/demo/leader"))).toMatchObject({
      service: "etcd",
      member: "etcd2",
      kind: "refused",
      status: 401,
      message: "etcd2's etcd refused POST /v3/kv/range: etcdserver: user name is empty (HTTP 401)",
    });
  });
});

// Patroni's REST API and etcd's v3 JSON gateway over HTTP, with Node's fetch: each request bounded
// by its own timeout, each failure an HaApiError naming the member. With the lab's credentials,
// Patroni gets them as basic authentication, and etcd's key reads a token (authenticated once per
// member and process: etcd checks the password with bcrypt, some 0.1 s).
import {
  HaApiError,
  type EtcdClient,
  type EtcdMemberEntry,
  type EtcdStatus,
  type EtcdValue,
  type HaClients,
  type HaEndpoint,
  type PatroniClient,
  type PatroniCluster,
  type PatroniDynamicConfig,
} from "../core/ha-client.js";

/** A read: a member that takes longer is treated as not answering (status must not hang on a frozen one). */
const READ_TIMEOUT_MS = 1500;
const CONFIG_TIMEOUT_MS = 10_000;
/** Patroni answers a switchover or failover once the new leader is elected. */
const LEADER_CHANGE_TIMEOUT_MS = 60_000;
const REINITIALIZE_TIMEOUT_MS = 10_000;

type Service = "Patroni" | "etcd" | "HAProxy";

interface Call {
  method: "GET" | "POST" | "PATCH";
  path: string;
  body?: unknown;
  timeoutMs: number;
  /** The Authorization header's value. */
  authorization?: string;
}

function baseUrl(endpoint: HaEndpoint): string {
  return `http://${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}

function whyUnreachable(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === "TimeoutError") return `no answer within ${timeoutMs / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** The answer's text; an HTTP status other than success is the service's refusal, in its words. */
async function send(service: Service, endpoint: HaEndpoint, call: Call, refusalText: (text: string) => string = (text) => text): Promise<string> {
  const request = `${call.method} ${call.path}`;
  let status: number;
  let ok: boolean;
  let text: string;
  try {
    const response = await fetch(`${baseUrl(endpoint)}${call.path}`, {
      method: call.method,
      headers: {
        ...(call.body === undefined ? {} : { "content-type": "application/json" }),
        ...(call.authorization === undefined ? {} : { authorization: call.authorization }),
      },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: AbortSignal.timeout(call.timeoutMs),
    });
    ({ status, ok } = response);
    text = (await response.text()).trim();
  } catch (error) {
    throw new HaApiError(service, endpoint.member, request, "unreachable", whyUnreachable(error, call.timeoutMs));
  }
  if (!ok) throw new HaApiError(service, endpoint.member, request, "refused", refusalText(text) || "(no text)", status);
  return text;
}

async function sendForJson<T>(service: Service, endpoint: HaEndpoint, call: Call, read: (body: any) => T | undefined, refusalText?: (text: string) => string): Promise<T> {
  const text = await send(service, endpoint, call, refusalText);
  const badAnswer = (said: string) => new HaApiError(service, endpoint.member, `${call.method} ${call.path}`, "bad-answer", said);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badAnswer(`not JSON: ${text.slice(0, 80)}`);
  }
  const answer = body !== null && typeof body === "object" ? read(body) : undefined;
  if (answer === undefined) throw badAnswer(text.slice(0, 120));
  return answer;
}

const isString = (value: unknown): value is string => typeof value === "string";

function readCluster(body: { members?: unknown }): PatroniCluster | undefined {
  const { members } = body;
  if (!Array.isArray(members) || !members.every((member) => member && isString(member.name) && isString(member.role) && isString(member.state))) return undefined;
  return { members };
}

class HttpPatroniClient implements PatroniClient {
  readonly member: string;
  private readonly authorization: string | undefined;

  constructor(private readonly endpoint: HaEndpoint) {
    this.member = endpoint.member;
    const { credentials } = endpoint;
    // Patroni asks for it on its unsafe requests only; sent with every one, it costs nothing.
    this.authorization = credentials && `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
  }

  private call(method: Call["method"], path: string, timeoutMs: number, body?: unknown): Call {
    return { method, path, body, timeoutMs, authorization: this.authorization };
  }

  cluster(): Promise<PatroniCluster> {
    return sendForJson("Patroni", this.endpoint, this.call("GET", "/cluster", READ_TIMEOUT_MS), readCluster);
  }

  config(): Promise<PatroniDynamicConfig> {
    return sendForJson("Patroni", this.endpoint, this.call("GET", "/config", READ_TIMEOUT_MS), (body) => body as PatroniDynamicConfig);
  }

  patchConfig(change: Record<string, unknown>): Promise<PatroniDynamicConfig> {
    return sendForJson("Patroni", this.endpoint, this.call("PATCH", "/config", CONFIG_TIMEOUT_MS, change), (body) => body as PatroniDynamicConfig);
  }

  switchover(request: { leader: string; candidate: string }): Promise<string> {
    return send("Patroni", this.endpoint, this.call("POST", "/switchover", LEADER_CHANGE_TIMEOUT_MS, request));
  }

  failover(request: { candidate: string }): Promise<string> {
    return send("Patroni", this.endpoint, this.call("POST", "/failover", LEADER_CHANGE_TIMEOUT_MS, request));
  }

  reinitialize(request: { force: boolean }): Promise<string> {
    return send("Patroni", this.endpoint, this.call("POST", "/reinitialize", REINITIALIZE_TIMEOUT_MS, request));
  }
}

/** etcd's ids are uint64 in decimal on the gateway; etcdctl and its logs print them in hex. */
const hex = (id: string) => BigInt(id).toString(16);

/** The gateway's errors are JSON ({ "error": …, "code": … }): its message is the refusal. */
function etcdRefusal(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: string; error?: string };
    return body.message ?? body.error ?? text;
  } catch {
    return text;
  }
}

function readStatus(body: { header?: { member_id?: unknown }; leader?: unknown; raftTerm?: unknown; raftIndex?: unknown }): EtcdStatus | undefined {
  const id = body.header?.member_id;
  if (!isString(id) || !isString(body.raftTerm)) return undefined;
  return {
    member_id: hex(id),
    leader: isString(body.leader) && body.leader !== "0" ? hex(body.leader) : null,
    raft_term: Number(body.raftTerm),
    raft_index: Number(isString(body.raftIndex) ? body.raftIndex : 0),
  };
}

function readMembers(body: { members?: unknown }): EtcdMemberEntry[] | undefined {
  if (!Array.isArray(body.members)) return undefined;
  // A member added but not started has no name yet.
  return body.members.filter((member) => member && isString(member.ID)).map((member) => ({ id: hex(member.ID), name: isString(member.name) ? member.name : "" }));
}

function readValue(body: { header?: { revision?: unknown }; kvs?: { value?: unknown }[] }): EtcdValue | undefined {
  if (!body.header) return undefined;
  const value = body.kvs?.[0]?.value;
  return { value: isString(value) ? Buffer.from(value, "base64").toString() : null, revision: Number(body.header.revision ?? 0) };
}

/** What etcd answers a request whose token is missing, expired or from before a change of users: authenticate again. */
const STALE_TOKEN = /user name is empty|invalid auth token|auth token is for old revision/;

/** etcd's tokens, per member and credentials, for this process; null while etcd's authentication is not on. */
class EtcdTokens {
  private readonly tokens = new Map<string, Promise<string | null>>();

  private static key(endpoint: HaEndpoint): string {
    return `${baseUrl(endpoint)} ${endpoint.credentials?.username}:${endpoint.credentials?.password}`;
  }

  get(endpoint: HaEndpoint): Promise<string | null> {
    const key = EtcdTokens.key(endpoint);
    let token = this.tokens.get(key);
    if (!token) {
      token = EtcdTokens.authenticate(endpoint);
      this.tokens.set(key, token);
      token.catch(() => this.tokens.delete(key));
    }
    return token;
  }

  forget(endpoint: HaEndpoint): void {
    this.tokens.delete(EtcdTokens.key(endpoint));
  }

  private static async authenticate(endpoint: HaEndpoint): Promise<string | null> {
    const { username, password } = endpoint.credentials!;
    const call: Call = { method: "POST", path: "/v3/auth/authenticate", body: { name: username, password }, timeoutMs: READ_TIMEOUT_MS };
    try {
      return await sendForJson("etcd", endpoint, call, (body: { token?: unknown }) => (isString(body.token) ? body.token : undefined), etcdRefusal);
    } catch (error) {
      // A lab whose etcd has not turned authentication on yet (its nodes do as they start).
      if (error instanceof HaApiError && error.kind === "refused" && /authentication is not enabled/.test(error.said)) return null;
      throw error;
    }
  }
}

class HttpEtcdClient implements EtcdClient {
  readonly member: string;

  constructor(
    private readonly endpoint: HaEndpoint,
    private readonly tokens: EtcdTokens,
  ) {
    this.member = endpoint.member;
  }

  private post<T>(path: string, body: unknown, read: (body: any) => T | undefined, token?: string | null): Promise<T> {
    const call: Call = { method: "POST", path, body, timeoutMs: READ_TIMEOUT_MS, authorization: token ?? undefined };
    return sendForJson("etcd", this.endpoint, call, read, etcdRefusal);
  }

  /** A request that needs a user: with the token, authenticated again once if etcd no longer takes it. */
  private async postAsUser<T>(path: string, body: unknown, read: (body: any) => T | undefined): Promise<T> {
    if (!this.endpoint.credentials) return this.post(path, body, read);
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.get(this.endpoint);
      try {
        return await this.post(path, body, read, token);
      } catch (error) {
        if (attempt > 1 || !(error instanceof HaApiError && error.kind === "refused" && STALE_TOKEN.test(error.said))) throw error;
        this.tokens.forget(this.endpoint);
      }
    }
  }

  status(): Promise<EtcdStatus> {
    return this.post("/v3/maintenance/status", {}, readStatus);
  }

  memberList(): Promise<EtcdMemberEntry[]> {
    return this.post("/v3/cluster/member/list", {}, readMembers);
  }

  get(key: string): Promise<EtcdValue> {
    return this.postAsUser("/v3/kv/range", { key: Buffer.from(key).toString("base64") }, readValue);
  }
}

export function httpHaClients(): HaClients {
  const tokens = new EtcdTokens();
  return {
    patroni: (endpoint) => new HttpPatroniClient(endpoint),
    etcd: (endpoint) => new HttpEtcdClient(endpoint, tokens),
    proxyStats: (endpoint) => send("HAProxy", endpoint, { method: "GET", path: "/stats;csv", timeoutMs: READ_TIMEOUT_MS }),
  };
}

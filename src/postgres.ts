// The only module that knows `pg`: one place for timeouts, application_name and query logging
// (text and duration, never parameters).
import pg from "pg";
import { debug } from "./output.js";

// pg_lsn, int8 and numeric stay strings in pg by default; repl-lab casts in SQL where it wants numbers.
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export function connectionUrl(endpoint: Endpoint): string {
  const user = encodeURIComponent(endpoint.user);
  const password = encodeURIComponent(endpoint.password);
  return `postgresql://${user}:${password}@${endpoint.host}:${endpoint.port}/${endpoint.database}`;
}

export interface QueryOptions {
  /** Bounds connecting and each query, so a frozen or unreachable node never hangs the caller. */
  timeoutMs?: number;
}

export interface Session {
  query<Row extends object = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

async function connectClient(endpoint: Endpoint, timeoutMs: number, boundQueries: boolean): Promise<pg.Client> {
  const client = new pg.Client({
    ...endpoint,
    application_name: "repl-lab",
    connectionTimeoutMillis: timeoutMs,
    // A user's own query may legitimately run long (or wait for a synchronous standby); ours may not.
    query_timeout: boundQueries ? timeoutMs : undefined,
  });
  // An error after connect (server shut down, network cut) must not crash the process.
  client.on("error", (error) => debug(`connection to ${endpoint.host}:${endpoint.port} lost: ${error.message}`));
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

export async function openSession(endpoint: Endpoint, options: QueryOptions = {}): Promise<Session> {
  const client = await connectClient(endpoint, options.timeoutMs ?? 5000, true);
  return {
    async query<Row extends object>(text: string, params?: unknown[]) {
      const started = Date.now();
      try {
        const result = await client.query<Row>(text, params);
        debug(`sql ${endpoint.port} (${Date.now() - started} ms): ${oneLine(text)}`);
        return result.rows;
      } catch (error) {
        debug(`sql ${endpoint.port} failed after ${Date.now() - started} ms: ${oneLine(text)}: ${(error as Error).message}`);
        throw error;
      }
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}

/** Opens a session, runs `work`, and always closes the session. */
export async function withSession<T>(endpoint: Endpoint, work: (session: Session) => Promise<T>, options: QueryOptions = {}): Promise<T> {
  const session = await openSession(endpoint, options);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

export interface QueryResult {
  command: string;
  rowCount: number | null;
  fields: string[];
  rows: Record<string, unknown>[];
}

/** Runs what a user typed (one or more statements) and keeps the column order of the last result. */
export async function runUserQuery(endpoint: Endpoint, text: string, options: QueryOptions = {}): Promise<QueryResult> {
  const client = await connectClient(endpoint, options.timeoutMs ?? 5000, false);
  try {
    const started = Date.now();
    const results = await client.query({ text, rowMode: "array" });
    debug(`sql ${endpoint.port} (${Date.now() - started} ms): ${oneLine(text)}`);
    const all = (Array.isArray(results) ? results : [results]) as pg.QueryResult<unknown[]>[];
    const last = all[all.length - 1]!;
    const fields = last.fields.map((field) => field.name);
    const rows = last.rows.map((values) => Object.fromEntries(fields.map((name, index) => [name, values[index]])));
    return { command: last.command, rowCount: last.rowCount, fields, rows };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Errors worth retrying while a server starts: refused, reset, starting up, shutting down. */
export function isTransientConnectionError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  const message = error instanceof Error ? error.message : "";
  return (
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "57P03" || // cannot_connect_now: the database system is starting up
    code === "57P01" ||
    /Connection terminated|timeout|ECONNRESET|socket hang up/i.test(message)
  );
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}

/**
 * ALTER SYSTEM SET (or RESET, for null) then a reload: PostgreSQL's own way to change a setting on a
 * running server without a restart; connected sessions stay connected and see the new value.
 */
export async function alterSystem(session: Session, settings: Record<string, string | null>): Promise<void> {
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a setting name: ${name}`);
    await session.query(value === null ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = ${pg.escapeLiteral(value)}`);
  }
  const [before] = await session.query<{ loaded: Date }>("SELECT pg_conf_load_time() AS loaded");
  await session.query("SELECT pg_reload_conf()");
  // The reload is asynchronous: wait (briefly) until this backend has read the files again, so what
  // the caller reads next in this session is the new value.
  for (let attempt = 0; attempt < 40; attempt++) {
    const [after] = await session.query<{ loaded: Date }>("SELECT pg_conf_load_time() AS loaded");
    if (!before || !after || after.loaded.getTime() > before.loaded.getTime()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

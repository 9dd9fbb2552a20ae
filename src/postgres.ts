// The only module that knows `pg`: one place for timeouts, application_name, query logging (text
// and duration, never parameters) and the mapping of driver errors to repl-lab's: a server that
// cannot be reached is a NodeUnavailableError naming the node, a refused statement a SqlError.
import pg from "pg";
import { NodeUnavailableError, SqlError } from "./core/errors.js";
import { debug } from "./core/log.js";

// pg_lsn, int8 and numeric stay strings in pg by default; repl-lab casts in SQL where it wants numbers.
export interface Endpoint {
  /** The lab node this endpoint reaches, named in errors. */
  node: string;
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

/**
 * One URL naming every node, for clients that pick a server by its role (libpq's
 * target_session_attrs, and pgx and JDBC likewise): read-write finds the primary wherever it is
 * after a failover; prefer-standby reads from a standby while there is one.
 */
export function multiHostUrl(endpoints: Endpoint[], targetSessionAttrs: "read-write" | "prefer-standby"): string | undefined {
  const [first] = endpoints;
  if (!first) return undefined;
  const hosts = endpoints.map((endpoint) => `${endpoint.host}:${endpoint.port}`).join(",");
  return `postgresql://${encodeURIComponent(first.user)}:${encodeURIComponent(first.password)}@${hosts}/${first.database}?target_session_attrs=${targetSessionAttrs}`;
}

export interface SessionOptions {
  /** Bounds connecting and each of our own queries, so a frozen or unreachable node never hangs the caller. */
  timeoutMs?: number;
}

export interface Session {
  readonly node: string;
  query<Row extends object = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

/** How sessions are opened; the library and the CLI use openSession, unit tests hand in a fake. */
export type Connect = (endpoint: Endpoint, options?: SessionOptions) => Promise<Session>;

// SQLSTATE classes and codes that mean "the server is not there for you right now".
// https://www.postgresql.org/docs/current/errcodes-appendix.html
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-4]|53300)$/;
const UNAVAILABLE_MESSAGE = /Connection terminated|timeout|timed out|ECONNRESET|socket hang up|not queryable|Connection refused/i;

/** Turns what the driver threw into a NodeUnavailableError or a SqlError for `node`. */
export function mapDriverError(error: unknown, node: string): Error {
  if (error instanceof NodeUnavailableError || error instanceof SqlError) return error;
  const code = (error as { code?: string } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const isSqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code);
  if ((isSqlState && UNAVAILABLE_SQLSTATE.test(code)) || (!isSqlState && (code?.startsWith("E") || UNAVAILABLE_MESSAGE.test(message)))) {
    return new NodeUnavailableError(node, `${node}: ${describeUnavailable(code, message)}`, code, {
      hint: `see \`repl-lab status\` and \`repl-lab logs ${node}\``,
      cause: error,
    });
  }
  if (isSqlState) return new SqlError(node, `${node}: ${message} (SQLSTATE ${code})`, code, { cause: error });
  return error instanceof Error ? error : new Error(message);
}

function describeUnavailable(code: string | undefined, message: string): string {
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (nothing listens there: the node is stopped, still starting, or cut off its network)";
    case "ECONNRESET":
      return "connection reset by the server";
    case "ETIMEDOUT":
      return "no answer in time (a paused or cut-off node never answers)";
    case "57P03":
      return "the server is starting up and not accepting connections yet";
    default:
      return message;
  }
}

async function connectClient(endpoint: Endpoint, timeoutMs: number, boundQueries: boolean): Promise<pg.Client> {
  const client = new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    database: endpoint.database,
    application_name: "repl-lab",
    connectionTimeoutMillis: timeoutMs,
    // A user's own query may legitimately run long (or wait for a synchronous standby); ours may not.
    query_timeout: boundQueries ? timeoutMs : undefined,
  });
  // An error after connect (server shut down, network cut) must not crash the process.
  client.on("error", (error) => debug(`connection to ${endpoint.node} lost: ${error.message}`));
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw mapDriverError(/timeout/i.test((error as Error).message) ? Object.assign(error as Error, { code: "ETIMEDOUT" }) : error, endpoint.node);
  }
  return client;
}

export const openSession: Connect = async (endpoint, options = {}) => {
  const client = await connectClient(endpoint, options.timeoutMs ?? 5000, true);
  return {
    node: endpoint.node,
    async query<Row extends object>(text: string, params?: unknown[]) {
      const started = Date.now();
      try {
        const results: pg.QueryResult<Row> | pg.QueryResult<Row>[] = await client.query<Row>(text, params);
        debug(`sql ${endpoint.node} (${Date.now() - started} ms): ${oneLine(text)}`);
        return lastResult(results).rows;
      } catch (error) {
        debug(`sql ${endpoint.node} failed after ${Date.now() - started} ms: ${oneLine(text)}: ${(error as Error).message}`);
        throw mapDriverError(/Query read timeout/i.test((error as Error).message) ? Object.assign(error as Error, { code: "ETIMEDOUT" }) : error, endpoint.node);
      }
    },
    close: () => closeClient(client),
  };
};

/**
 * Sends Terminate and resolves once it is on its way, not when the server has finished exiting
 * (pg's own end() waits for that, some 10-25 ms per connection, a tenth of a short command's run).
 */
async function closeClient(client: pg.Client): Promise<void> {
  // pg keeps its socket as connection.stream; it is the only way to know the Terminate was sent.
  const socket = (client as unknown as { connection?: { stream?: NodeJS.WritableStream & { destroy(): void; writableFinished?: boolean } } }).connection?.stream;
  const ended = client.end().catch(() => undefined);
  if (!socket || typeof socket.once !== "function") return ended;
  await Promise.race([ended, new Promise<void>((resolve) => (socket.writableFinished ? resolve() : socket.once("finish", () => resolve())))]);
  socket.destroy();
}

/** Opens a session, runs `work`, and always closes the session. */
export async function withSession<T>(connect: Connect, endpoint: Endpoint, work: (session: Session) => Promise<T>, options: SessionOptions = {}): Promise<T> {
  const session = await connect(endpoint, options);
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
export async function runUserQuery(endpoint: Endpoint, text: string, options: SessionOptions = {}): Promise<QueryResult> {
  const client = await connectClient(endpoint, options.timeoutMs ?? 5000, false);
  try {
    const started = Date.now();
    const results = await client.query({ text, rowMode: "array" });
    debug(`sql ${endpoint.node} (${Date.now() - started} ms): ${oneLine(text)}`);
    const last = lastResult(results as pg.QueryResult<unknown[]> | pg.QueryResult<unknown[]>[]);
    const fields = last.fields.map((field) => field.name);
    const rows = last.rows.map((values) => Object.fromEntries(fields.map((name, index) => [name, values[index]])));
    return { command: last.command, rowCount: last.rowCount, fields, rows };
  } catch (error) {
    throw mapDriverError(error, endpoint.node);
  } finally {
    await closeClient(client);
  }
}

/** A text of several statements (simple protocol) gives one result each: the last one is what psql -c prints. */
function lastResult<Row extends object>(results: pg.QueryResult<Row> | pg.QueryResult<Row>[]): pg.QueryResult<Row> {
  return Array.isArray(results) ? results[results.length - 1]! : results;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}

/** A setting's value as a SQL literal (what ALTER SYSTEM SET takes). */
export function sqlLiteral(value: string): string {
  return pg.escapeLiteral(value);
}

// Sessions kept open between looks at a lab: watchLab() asks every node every tick, and a new
// connection per node per tick would cost a connection, an authentication and a backend each time.
import type { Connect, Endpoint, Session } from "../postgres.js";

export class SessionPool {
  private readonly open = new Map<string, { key: string; session: Promise<Session> }>();

  constructor(
    private readonly connect: Connect,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Runs `work` on the node's kept session (opening one when there is none, or when the node's
   * address changed); a failure drops the session, so the next call starts afresh.
   */
  async use<T>(endpoint: Endpoint, work: (session: Session) => Promise<T>): Promise<T> {
    const key = `${endpoint.host}:${endpoint.port}`;
    let entry = this.open.get(endpoint.node);
    if (entry && entry.key !== key) {
      this.drop(endpoint.node);
      entry = undefined;
    }
    if (!entry) {
      entry = { key, session: this.connect(endpoint, { timeoutMs: this.timeoutMs }) };
      this.open.set(endpoint.node, entry);
    }
    try {
      return await work(await entry.session);
    } catch (error) {
      if (this.open.get(endpoint.node) === entry) this.drop(endpoint.node);
      throw error;
    }
  }

  /** Closes the node's session, if any (a node that is stopped, paused or cut off). */
  drop(node: string): void {
    const entry = this.open.get(node);
    if (!entry) return;
    this.open.delete(node);
    void entry.session.then((session) => session.close()).catch(() => undefined);
  }

  async close(): Promise<void> {
    const entries = [...this.open.values()];
    this.open.clear();
    await Promise.all(entries.map((entry) => entry.session.then((session) => session.close()).catch(() => undefined)));
  }
}

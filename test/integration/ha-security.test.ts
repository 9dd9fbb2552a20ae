// HA mode's published APIs, locked down (docs/security.md): on a local engine Patroni's REST API
// and etcd's client API are published on 127.0.0.1 only; Patroni refuses its unsafe requests
// (POST /restart, /reinitialize, /switchover, PATCH /config) without the lab's user, and etcd every
// key read or write without its root user; repl-lab's own operations, which use them, still work.
import { afterAll, describe, expect, it } from "vitest";
import { Lab } from "../../src/api.js";
import { ETCD_CLIENT_PORT, PATRONI_PORT } from "../../src/core/constants.js";
import { LABEL, labLabels } from "../../src/core/labels.js";
import type { SwitchoverResult } from "../../src/operations/switchover.js";
import type { SyncResult } from "../../src/operations/sync.js";
import { engine, labsRemovedAfterAll, runJson, runtime } from "../helpers.js";

async function answer(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: response.status, text: (await response.text()).trim() };
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("HA endpoints locked down", () => {
  const newLab = labsRemovedAfterAll(afterAll);

  it("publishes Patroni and etcd on 127.0.0.1, refuses changes without the lab's users, and repl-lab's own operations still work", async () => {
    const name = newLab("hasecure");
    await runJson(["up", "--lab", name, "--ha", "-n", "2", "--sync", "standby1"]);

    // Published on loopback only, as the engine itself reports the bindings.
    const containers = await engine.listContainers(labLabels(name));
    const apiPort = (node: string, containerPort: number) =>
      containers.find((container) => container.labels[LABEL.node] === node)!.ports.find((port) => port.containerPort === containerPort)!.hostPort;
    for (const container of containers) {
      const bindings = (await engine.inspectContainer(container.id)).spec.ports ?? [];
      expect(bindings.length).toBeGreaterThan(0);
      expect(bindings.map((binding) => `${binding.containerPort}@${binding.hostIp}`)).toEqual(bindings.map((binding) => `${binding.containerPort}@127.0.0.1`));
    }
    expect(containers.filter((container) => container.ports.some((port) => port.containerPort === PATRONI_PORT))).toHaveLength(3);
    expect(containers.filter((container) => container.ports.some((port) => port.containerPort === ETCD_CLIENT_PORT))).toHaveLength(3);

    // Patroni: its reads stay open; every change needs the lab's user.
    const patroni = `http://127.0.0.1:${apiPort("standby1", PATRONI_PORT)}`;
    expect((await answer(`${patroni}/cluster`)).status).toBe(200);
    const json = { "content-type": "application/json" };
    expect(await answer(`${patroni}/restart`, { method: "POST", headers: json, body: "{}" })).toEqual({ status: 401, text: "no auth header received" });
    expect(await answer(`${patroni}/config`, { method: "PATCH", headers: json, body: '{"ttl": 3600}' })).toEqual({ status: 401, text: "no auth header received" });
    expect(await answer(`${patroni}/switchover`, { method: "POST", headers: json, body: '{"leader": "leader", "candidate": "standby1"}' })).toEqual({ status: 401, text: "no auth header received" });
    const guessed = { ...json, authorization: `Basic ${b64("repl-lab:guessed")}` };
    expect(await answer(`${patroni}/reinitialize`, { method: "POST", headers: guessed, body: '{"force": true}' })).toEqual({ status: 401, text: "not authenticated" });
    expect(JSON.parse((await answer(`${patroni}/config`)).text).ttl).toBe(20);

    // etcd: no key written, read or deleted, and authentication not turned off, without its user.
    const etcd = `http://127.0.0.1:${apiPort("etcd2", ETCD_CLIENT_PORT)}/v3`;
    const leaderKey = b64(`/service/${name}/leader`);
    for (const [path, body] of [
      ["kv/put", { key: leaderKey, value: b64("intruder") }],
      ["kv/deleterange", { key: leaderKey }],
      ["kv/range", { key: leaderKey }],
      ["auth/disable", {}],
      ["auth/user/add", { name: "intruder", password: "x" }],
    ] as const) {
      const refused = await answer(`${etcd}/${path}`, { method: "POST", body: JSON.stringify(body) });
      expect(`${path}: ${refused.status} ${JSON.parse(refused.text).message}`).toBe(`${path}: 400 etcdserver: user name is empty`);
    }

    // repl-lab's own: status, the leader lock and Patroni's configuration (what ha-failover reads and changes), sync set, switchover.
    const lab = await Lab.attach(name, { runtime });
    const status = await lab.status();
    expect(status.patroni?.leader).toBe("leader");
    expect(status.etcd?.members.filter((member) => member.answering)).toHaveLength(3);
    expect(status.warnings).toEqual([]);
    expect(await lab.leaderLock()).toBe("leader");
    await lab.configurePatroni({ loop_wait: 1 });
    const synced = await runJson<SyncResult>(["sync", "set", "FIRST 1 (standby1, standby2)", "--lab", name]);
    expect(synced.settled).toBe(true);
    const switched = await runJson<SwitchoverResult>(["switchover", "--lab", name, "standby1"]);
    expect(switched).toMatchObject({ old_primary: "leader", new_primary: "standby1" });
    expect(await lab.leaderLock()).toBe("standby1");
  });
});

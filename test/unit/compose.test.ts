import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeSecrets, renderCompose } from "../../src/core/compose.js";
import { buildTopology } from "../../src/core/topology.js";
import { runCli } from "../helpers.js";

const secrets = { superuserPassword: "su", replicationPassword: "rep", patroniPassword: "api", etcdPassword: "etcd", monitorPassword: "mon" };

function rendered(input: Record<string, unknown>) {
  const text = renderCompose(buildTopology(input), { image: "postgres:17", secrets, command: "repl-lab render", file: "lab.yml" });
  return { text, document: parse(text) as { services: Record<string, Record<string, unknown>>; volumes: Record<string, unknown>; networks: Record<string, unknown> } };
}

describe("renderCompose", () => {
  it("in HA mode adds the three etcd members, which every Patroni node waits for", () => {
    const { document } = rendered({ lab: "demo", ha: true, followers: 1 });
    expect(Object.keys(document.services)).toEqual(["etcd1", "etcd2", "etcd3", "leader", "standby1"]);
    expect(document.services.etcd2!.entrypoint).toContain("--initial-cluster=etcd1=http://etcd1:2380,etcd2=http://etcd2:2380,etcd3=http://etcd3:2380");
    expect(document.services.standby1!.depends_on).toEqual(["etcd1", "etcd2", "etcd3", "leader"]);
    expect(document.services.leader!.ports).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d*:5432$/), "127.0.0.1::8008"]);
    expect(String((document.services.leader!.environment as Record<string, string>).PATRONI_CONFIGURATION)).toContain('scope: "demo"');
  });

  it("has one service per node, ports on 127.0.0.1 only, labels and a volume each", () => {
    const { document } = rendered({ lab: "demo", followers: 2, sync: "standby1", port: 15432 });
    expect(Object.keys(document.services)).toEqual(["leader", "standby1", "standby2"]);
    expect(document.services.leader!.ports).toEqual(["127.0.0.1:15432:5432"]);
    expect(document.services.standby2!.ports).toEqual(["127.0.0.1:15434:5432"]);
    expect(document.services.standby1!.labels).toEqual({
      "repl-lab.managed": "true", "repl-lab.lab": "demo", "repl-lab.node": "standby1", "repl-lab.role": "standby",
      "repl-lab.slots": "true", "repl-lab.host-port": "15433",
    });
    expect(document.services.standby1!.depends_on).toEqual(["leader"]);
    expect(Object.keys(document.volumes)).toEqual(["leader-data", "standby1-data", "standby2-data"]);
    expect(document.networks).toEqual({ lab: { name: "repl-lab-demo", labels: { "repl-lab.managed": "true", "repl-lab.lab": "demo" } } });
  });

  it("gives no node an added capability (the link delay runs in user space; NET_ADMIN would let a node rewrite its network)", () => {
    for (const input of [{ lab: "demo", followers: 2, networkDelay: "20ms" }, { lab: "demo", ha: true, followers: 1 }]) {
      for (const service of Object.values(rendered(input).document.services)) expect(service.cap_add).toBeUndefined();
    }
  });

  it("gives each follower its link delay, and the leader none", () => {
    const { document } = rendered({ followers: 2, networkDelay: "20ms" });
    expect((document.services.standby1!.environment as Record<string, string>).REPL_LAB_NETWORK_DELAY).toBe("20");
    expect(document.services.leader!.environment).not.toHaveProperty("REPL_LAB_NETWORK_DELAY");
  });

  it("puts the sync spec on the leader's command line of settings", () => {
    const { document } = rendered({ followers: 2, sync: "FIRST 1 (standby1, standby2)" });
    expect(document.services.leader!.command).toContain("synchronous_standby_names=FIRST 1 (standby1, standby2)");
    expect(document.services.standby1!.command).toContain("synchronous_standby_names=");
  });

  it("escapes $ so compose does not interpolate the entrypoint script, and writes the script once", () => {
    const { text, document } = rendered({ followers: 2 });
    const script = (document.services.leader!.entrypoint as string[])[2]!;
    expect(script).toContain('"$$PGDATA"');
    expect(script).not.toMatch(/[^$]\$PGDATA/);
    expect(text.match(/set -euo pipefail/g)).toHaveLength(1);
  });

  it("derives the same passwords from the same seed, and different ones without", () => {
    expect(composeSecrets("demo", "seed")).toEqual(composeSecrets("demo", "seed"));
    expect(composeSecrets("demo", "seed")).not.toEqual(composeSecrets("other", "seed"));
    expect(composeSecrets("demo", undefined)).not.toEqual(composeSecrets("demo", undefined));
  });
});

describe("the rendered examples in compose/", () => {
  const examples = JSON.parse(readFileSync(new URL("../../compose/examples.json", import.meta.url), "utf8")) as { file: string; args: string[] }[];

  it.each(examples)("$file is what `repl-lab render` prints for its arguments", async ({ file, args }) => {
    const out = join(mkdtempSync(join(tmpdir(), "repl-lab-render-")), file);
    const result = await runCli(["render", ...args, "-o", out]);
    expect(result.stderr).toBe(`wrote ${out}\n`);
    const expected = readFileSync(new URL(`../../compose/${file}`, import.meta.url), "utf8");
    // The header quotes the command line, which names the output path.
    expect(readFileSync(out, "utf8").replace(out, `compose/${file}`)).toBe(expected);
  });
});

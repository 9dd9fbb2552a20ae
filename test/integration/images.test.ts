// Labs on images laid out like the official ones we cannot pull here: the alpine variants (su-exec,
// no gosu), postgres:17 and older (VOLUME /var/lib/postgresql/data) and postgres:18 and later
// (VOLUME /var/lib/postgresql, PGDATA=/var/lib/postgresql/18/docker). Each image is derived from the
// local one with the docker CLI, exactly as the official Dockerfiles differ, and removed afterwards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UpResult } from "../../src/operations/up.js";
import { names } from "../../src/core/labels.js";
import { engine, labResources, labsRemovedAfterAll, nothing, runChecked, runCli, runJson, statusUntil } from "../helpers.js";

const BASE = "repl-lab/postgres:17";
const docker = async (...args: string[]) => (await runChecked("docker", args)).trim();

/** Commits a container of the base image that ran `script`, with Dockerfile-style `changes`. */
async function derive(tag: string, script: string, changes: string[]): Promise<string> {
  const container = `repl-lab-test-derive-${tag.replace(/[^a-z0-9]/g, "-")}`;
  await docker("rm", "-f", container);
  await docker("run", "--name", container, "--entrypoint", "bash", BASE, "-c", script);
  await docker("commit", ...changes.flatMap((change) => ["--change", change]), container, tag);
  await docker("rm", "-f", container);
  return tag;
}

const IMAGES = {
  alpineLike: "repl-lab-test/postgres:17-su-exec",
  volumeAtData: "repl-lab-test/postgres:17-volume",
  pg18Layout: "repl-lab-test/postgres:18-layout",
};

/**
 * The engine's anonymous volumes: those a container gets for an image's VOLUME where nothing is
 * mounted (a 64-hex name and no label). Other test files' labs, running at the same time, make
 * named, labelled volumes only.
 */
async function anonymousVolumes(): Promise<string[]> {
  return (await engine.listVolumes({}))
    .filter((volume) => /^[0-9a-f]{64}$/.test(volume.name) && Object.keys(volume.labels ?? {}).length === 0)
    .map((volume) => volume.name)
    .sort();
}

describe("images laid out like the official ones", () => {
  beforeAll(async () => {
    // The alpine variants have su-exec instead of gosu, and no perl.
    await derive(IMAGES.alpineLike, "mv /usr/sbin/gosu /usr/local/bin/su-exec && rm /usr/bin/perl", []);
    await derive(IMAGES.volumeAtData, "true", ['VOLUME ["/var/lib/postgresql/data"]']);
    await derive(IMAGES.pg18Layout, "true", ['VOLUME ["/var/lib/postgresql"]', "ENV PGDATA=/var/lib/postgresql/18/docker"]);
  });
  afterAll(async () => {
    for (const image of Object.values(IMAGES)) await docker("image", "rm", "-f", image);
  });
  // Registered last, so it runs first (after hooks run in reverse): labs go before their images.
  const lab = labsRemovedAfterAll(afterAll);

  it("an image with su-exec and no gosu or perl (the alpine variants) runs a streaming lab; only the link delay says it needs perl", async () => {
    const name = lab("su-exec");
    expect(await docker("run", "--rm", "--entrypoint", "bash", IMAGES.alpineLike, "-c", "command -v gosu || command -v su-exec")).toBe("/usr/local/bin/su-exec");
    const result = await runJson<UpResult>(["up", "--lab", name, "--followers", "1", "--sync", "standby1", "--image", IMAGES.alpineLike]);
    expect(result.image).toBe(IMAGES.alpineLike);
    const [row] = await runJson<{ usename: string }[]>(["sql", "--lab", name, "standby1", "SELECT current_user AS usename"]);
    expect(row).toEqual({ usename: "postgres" });
    const delayed = await runCli(["delay", "--lab", name, "standby1", "--network", "10ms"]);
    expect(delayed.code).toBe(1);
    expect(delayed.stderr).toContain("error: standby1's image has no perl, which the userspace link delay runs on");
    expect((await runCli(["down", "--lab", name])).code).toBe(0);
  });

  it.each([
    ["VOLUME /var/lib/postgresql/data (postgres:17 and older)", IMAGES.volumeAtData, "/var/lib/postgresql/data"],
    ["VOLUME /var/lib/postgresql (postgres:18 and later)", IMAGES.pg18Layout, "/var/lib/postgresql"],
  ])("an image with %s gets the node's volume where it declares one, and leaves no anonymous volume", async (_what, image, mountedAt) => {
    const name = lab("volume");
    const before = await anonymousVolumes();
    await runJson<UpResult>(["up", "--lab", name, "--followers", "1", "--image", image]);
    for (const node of ["leader", "standby1"]) {
      const { spec } = await engine.inspectContainer(names.container(name, node));
      expect(spec.mounts).toEqual([{ volume: names.volume(name, node), target: mountedAt }]);
    }
    if (image === IMAGES.pg18Layout) {
      // An experiment with the link delay runs on this layout too (in this lab: --lab).
      const run = await runJson<{ results: { synchronous_commit: string; p50_ms: number }[] }>(
        ["experiment", "commit-latency", "--lab", name, "--levels", "local,on", "--network-delay", "10ms", "--duration", "500ms", "--clients", "1", "--quiet"],
      );
      expect(run.results.find((row) => row.synchronous_commit === "on")!.p50_ms).toBeGreaterThanOrEqual(20);
      // pg_rewind runs in a helper container on the node's volume: it must mount it where the node does.
      expect((await runCli(["kill", "--lab", name, "leader"])).code).toBe(0);
      expect((await runCli(["promote", "--lab", name, "standby1"])).code).toBe(0);
      const rejoined = await runCli(["rejoin", "--lab", name, "leader"]);
      expect(rejoined.code, rejoined.stderr).toBe(0);
      expect(rejoined.stdout).toContain("leader follows standby1 again, by pg_rewind");
      await statusUntil(name, (status) => status.replication.some((row) => row.application_name === "leader" && row.state === "streaming"));
    }
    expect((await runCli(["down", "--lab", name])).code).toBe(0);
    expect(await labResources(name)).toEqual(nothing);
    expect(await anonymousVolumes()).toEqual(before);
  });
});

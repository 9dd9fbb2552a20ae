// The shipped bundles run their dependencies as published. The build uses no plugin (so nothing of
// a dependency is swapped, patched or redirected); the CLI bundles pg, dockerode, docker-modem and
// cli-table3 from node_modules, byte for byte the files npm publishes for the locked versions; the
// library bundles none: every package is imported from the application's node_modules.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build, type BuildOptions } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { cliBundle, libraryBundle } from "../../scripts/bundles.mjs";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "repl-lab-build-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Files of each package that the old build patched or replaced, and that the CLI must hold as published. */
const PUBLISHED_FILES: Record<string, string[]> = {
  pg: ["lib/crypto/utils.js", "lib/stream.js"],
  dockerode: ["lib/session.js", "lib/docker.js"],
  "docker-modem": ["lib/modem.js", "lib/ssh.js"],
  "cli-table3": ["src/cell.js", "src/layout-manager.js", "src/utils.js"],
};

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

async function inputsOf(options: BuildOptions): Promise<string[]> {
  const { metafile } = await build({ ...options, write: false, metafile: true, logLevel: "silent" });
  return Object.keys(metafile.inputs);
}

/** Every source a folder's source maps name (absolute paths), with the text the bundle was made from; `except` a subfolder. */
function mappedSources(folder: string, except?: string): Map<string, string> {
  const sources = new Map<string, string>();
  for (const entry of readdirSync(folder, { recursive: true, encoding: "utf8" })) {
    if (!entry.endsWith(".map") || (except && entry.startsWith(`${except}/`))) continue;
    const map = JSON.parse(readFileSync(join(folder, entry), "utf8")) as { sources: string[]; sourcesContent: string[] };
    map.sources.forEach((source, index) => sources.set(resolve(folder, dirname(entry), source), map.sourcesContent[index]!));
  }
  return sources;
}

/** The packages as npm publishes them at the versions package-lock.json holds, unpacked under scratch/<name>. */
async function published(names: string[]): Promise<Record<string, string>> {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
  const folders: Record<string, string> = {};
  await Promise.all(
    names.map(async (name) => {
      const folder = join(scratch, name);
      const spec = `${name}@${lock.packages[`node_modules/${name}`]!.version}`;
      mkdirSync(folder);
      const packed = await run("npm", ["pack", "--silent", "--prefer-offline", "--pack-destination", folder, spec], { cwd: scratch });
      await run("tar", ["xzf", join(folder, packed.stdout.trim()), "-C", folder]);
      folders[name] = join(folder, "package");
    }),
  );
  return folders;
}

describe("the build", () => {
  it("uses no esbuild plugin", () => {
    expect(cliBundle.plugins).toBeUndefined();
    expect(libraryBundle.plugins).toBeUndefined();
  });

  it("puts into the CLI files only: ours from src/, dependencies' from node_modules (no plugin namespace)", async () => {
    const inputs = await inputsOf(cliBundle);
    // A module a plugin made would be named "<namespace>:<path>".
    expect(inputs.filter((input) => !/^(src|node_modules)\//.test(input))).toEqual([]);
    for (const [name, files] of Object.entries(PUBLISHED_FILES)) {
      for (const file of files) expect(inputs).toContain(`node_modules/${name}/${file}`);
    }
  });

  it("puts no dependency into the library: it imports them from node_modules", async () => {
    const inputs = await inputsOf(libraryBundle);
    expect(inputs.filter((input) => !input.startsWith("src/"))).toEqual([]);
    const shipped = [...mappedSources(join(root, "dist"), "cli").keys()].map((path) => relative(root, path));
    expect(shipped).toContain("src/api.ts");
    expect(shipped.filter((path) => !path.startsWith("src/"))).toEqual([]);
  });

  it("ships in dist/cli the files of pg, dockerode, docker-modem and cli-table3 byte for byte as npm publishes them", async () => {
    const bundled = mappedSources(join(root, "dist", "cli"));
    const packages = await published(Object.keys(PUBLISHED_FILES));
    for (const [name, files] of Object.entries(PUBLISHED_FILES)) {
      for (const file of files) {
        const installed = join(root, "node_modules", name, file);
        const expected = sha256(readFileSync(join(packages[name]!, file)));
        expect({ file: `${name}/${file}`, installed: sha256(readFileSync(installed)) }).toEqual({ file: `${name}/${file}`, installed: expected });
        expect(bundled.has(installed), `${name}/${file} is in dist/cli`).toBe(true);
        expect({ file: `${name}/${file}`, bundled: sha256(bundled.get(installed)!) }).toEqual({ file: `${name}/${file}`, bundled: expected });
      }
    }
  });
});

// The package as a user gets it: `npm pack`, installed from the tarball into a fresh project, then
// imported by a script that brings up a lab, writes and reads a row, and removes the lab; its
// type declarations are checked by the TypeScript compiler there too.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { dropLab, labResources, nothing, uniqueLab } from "../helpers.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

const SCRIPT = `import { Lab, LabError } from "repl-lab";

const lab = await Lab.up({ name: process.argv[2], followers: 1, sync: "standby1", syncCommit: "remote_apply" });
try {
  await lab.sql("leader", "CREATE TABLE t (v text); INSERT INTO t VALUES ('from the tarball')");
  const { rows } = await lab.sql("standby1", "SELECT v FROM t");
  const refused = await lab.sql("standby1", "INSERT INTO t VALUES ('no')").catch((error: unknown) => error instanceof LabError);
  console.log(JSON.stringify({ nodes: lab.nodes, rows, refused }));
} finally {
  await lab.down();
}
`;

describe("the packed package", () => {
  const lab = uniqueLab("pack");
  const project = mkdtempSync(join(tmpdir(), "repl-lab-pack-"));
  afterAll(async () => {
    await dropLab(lab);
    rmSync(project, { recursive: true, force: true });
  });

  it("installs from its tarball into a fresh project, type-checks, and runs a lab from a script", async () => {
    const packed = await run("npm", ["pack", "--silent", "--pack-destination", project], { cwd: root, maxBuffer: 1 << 24 });
    const tarball = join(project, packed.stdout.trim().split("\n").pop()!);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "uses-repl-lab", private: true, type: "module" }));
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", tarball], { cwd: project, maxBuffer: 1 << 24 });
    writeFileSync(join(project, "smoke.mts"), SCRIPT);
    // The declarations shipped in the tarball are enough for a strict compile.
    await run(process.execPath, [tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--types", "node", "--typeRoots", join(root, "node_modules", "@types"), "smoke.mts"], { cwd: project });
    writeFileSync(join(project, "smoke.mjs"), SCRIPT.replace("(error: unknown)", "(error)"));
    const smoke = await run(process.execPath, ["smoke.mjs", lab], { cwd: project });
    expect(JSON.parse(smoke.stdout)).toEqual({ nodes: ["leader", "standby1"], rows: [{ v: "from the tarball" }], refused: true });
    expect(await labResources(lab)).toEqual(nothing);
  });
});

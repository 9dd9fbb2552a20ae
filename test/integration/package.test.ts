// The package as a user gets it: `npm pack`, installed from the tarball into a fresh project, then
// imported by a script that brings up a lab, writes and reads a row, and removes the lab; its
// type declarations are checked by the TypeScript compiler there too.
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { XMLValidator } from "fast-xml-parser";
import { strictJunitProblems } from "../junit.js";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { dropLab, labResources, nothing, runCommand, TEST_LAB_PREFIX, uniqueLab } from "../helpers.js";

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

// The application's own tests in the recipe's project: a write on the leader read back on the synchronous standby.
const APP_TEST = `import pg from "pg";
const leader = new pg.Client(process.env.LEADER_URL);
const replica = new pg.Client(process.env.STANDBY1_URL);
await leader.connect();
await replica.connect();
await leader.query("SET synchronous_commit = remote_apply");
await leader.query("CREATE TABLE IF NOT EXISTS app (v text)");
await leader.query("INSERT INTO app VALUES ('from the app')");
const { rows } = await replica.query("SELECT v FROM app");
if (rows[0]?.v !== "from the app") throw new Error("the replica does not have the app's row: " + JSON.stringify(rows));
await leader.end();
await replica.end();
console.log("app tests passed");
`;

interface RecipeStep {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
}

describe("the packed package", () => {
  const lab = uniqueLab("pack");
  const recipeLab = uniqueLab("recipe");
  const project = mkdtempSync(join(tmpdir(), "repl-lab-pack-"));
  afterAll(async () => {
    await dropLab(lab);
    await dropLab(recipeLab);
    rmSync(project, { recursive: true, force: true });
  });

  it("installs from its tarball into a fresh project, type-checks, and runs a lab from a script", async () => {
    // --ignore-scripts: the run's setup built dist/ (npm test runs scripts/setup.sh), and prepack's
    // build would empty it under the files running beside this one. The tarball holds that build.
    const packed = await run("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", project], { cwd: root, maxBuffer: 1 << 24 });
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

  it("runs the GitHub Actions recipe's commands (examples/github-actions.yml) in that project, minus the Actions wrapper", async () => {
    // The project is the one the test above installed the tarball into (so the install step is skipped).
    expect(existsSync(join(project, "node_modules", "repl-lab"))).toBe(true);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "uses-repl-lab", private: true, type: "module", scripts: { test: "node app-test.mjs" } }));
    writeFileSync(join(project, "app-test.mjs"), APP_TEST);
    mkdirSync(join(project, "scenarios"), { recursive: true });
    copyFileSync(join(root, "scenarios", "failover.yaml"), join(project, "scenarios", "failover.yaml"));
    const recipe = parseYaml(readFileSync(join(root, "examples", "github-actions.yml"), "utf8")) as { jobs: { replicas: { env: Record<string, string>; steps: RecipeStep[] } } };
    const job = recipe.jobs.replicas;
    const githubEnv = join(project, "github-env");
    writeFileSync(githubEnv, "");
    let failed = false;
    const ran: string[] = [];
    for (const step of job.steps) {
      if (!step.run || step.id === "install") continue;
      if (failed && step.if !== "always()") continue;
      const exported = Object.fromEntries(
        readFileSync(githubEnv, "utf8").split("\n").filter((line) => line.includes("=")).map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
      );
      const result = await runCommand("bash", ["-eo", "pipefail", "-c", step.run], {
        cwd: project,
        timeoutMs: 300_000,
        // The job's env, with a lab name the suite's cleanup knows; the scenario's lab gets the prefix.
        env: { ...job.env, REPL_LAB_NAME: recipeLab, REPL_LAB_NAME_PREFIX: TEST_LAB_PREFIX, GITHUB_ENV: githubEnv, ...exported },
      });
      ran.push(`${step.name}: exit ${result.code}`);
      if (result.code !== 0) {
        failed = true;
        console.log(`${step.name} failed:\n${result.stdout}\n${result.stderr}`);
      }
    }
    expect(ran).toEqual(job.steps.filter((step) => step.run && step.id !== "install").map((step) => `${step.name}: exit 0`));
    for (const report of ["repl-lab-check.xml", "repl-lab-scenarios.xml"]) {
      const xml = readFileSync(join(project, report), "utf8");
      expect(XMLValidator.validate(xml)).toBe(true);
      expect(strictJunitProblems(xml), report).toEqual([]);
    }
    expect(await labResources(recipeLab)).toEqual(nothing);
  });
});

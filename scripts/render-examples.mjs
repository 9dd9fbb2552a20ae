// Regenerates the rendered examples in compose/ from compose/examples.json (a test keeps them in step).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const examples = JSON.parse(readFileSync(new URL("../compose/examples.json", import.meta.url), "utf8"));
for (const example of examples) {
  execFileSync(process.execPath, ["bin/repl-lab.cjs", "render", ...example.args, "-o", `compose/${example.file}`], { stdio: "inherit" });
}

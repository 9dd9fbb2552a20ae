// Rewrites test/durations.json (each integration file's seconds) from vitest's record of the last
// run (node_modules/.vite/vitest/*/results.json), for test/sequencer.ts to start the longest first on
// a fresh clone. Run it after a whole `npm test`.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = "node_modules/.vite/vitest";
const records = readdirSync(root).map((dir) => join(root, dir, "results.json"));
const durations = {};
for (const file of records) {
  for (const [key, { duration }] of JSON.parse(readFileSync(file, "utf8")).results) {
    if (!key.startsWith("unit:")) durations[key] = Math.round(duration / 100) / 10;
  }
}
const sorted = Object.fromEntries(Object.entries(durations).sort(([, a], [, b]) => b - a));
writeFileSync("test/durations.json", `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`test/durations.json: ${Object.keys(sorted).length} files`);

// Longest files first, so that the three workers finish together rather than one running a long
// experiment alone at the end (a fresh clone has no vitest cache, and vitest then starts the largest
// files first: our longest files are among the smallest). A file's duration is vitest's own record of
// its last run when there is one, else test/durations.json (seconds, from a whole run of the suite:
// `npm run test:durations` rewrites it from vitest's cache after `npm test`), else a guess.
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const RECORDED: Record<string, number> = JSON.parse(readFileSync(new URL("./durations.json", import.meta.url), "utf8"));
/** A file with no record yet: an integration file of a typical length, so a new one does not start last. */
const UNKNOWN_S = 30;

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const key = (file: TestSpecification) => `${file.project.name}:${relative(this.ctx.config.root, file.moduleId)}`;
    const seconds = (file: TestSpecification): number => {
      const last = cache.getFileTestResults(key(file));
      if (last) return last.duration / 1000;
      return RECORDED[key(file)] ?? (file.project.name === "unit" ? 0 : UNKNOWN_S);
    };
    const failed = (file: TestSpecification) => (cache.getFileTestResults(key(file))?.failed ? 1 : 0);
    // A file that failed last time first (its answer matters most), then the longest.
    return [...files].sort((a, b) => failed(b) - failed(a) || seconds(b) - seconds(a));
  }
}

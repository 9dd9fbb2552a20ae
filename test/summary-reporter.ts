// Prints one plain closing line ("N passed, N failed, N skipped") that any CI can read.
import type { RunnerTestFile, RunnerTask } from "vitest";

function count(tasks: RunnerTask[], totals: { passed: number; failed: number; skipped: number }): void {
  for (const task of tasks) {
    if (task.type === "suite") {
      count(task.tasks, totals);
      continue;
    }
    const state = task.result?.state;
    if (state === "pass") totals.passed += 1;
    else if (state === "fail") totals.failed += 1;
    else totals.skipped += 1;
  }
}

export default class SummaryReporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    count(files, totals);
    for (const file of files) if (file.result?.state === "fail" && file.tasks.length === 0) totals.failed += 1;
    totals.failed += errors.length;
    process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  }
}

// Every JUnit report the suite writes is checked against the rules strict consumers apply
// (test/junit-strict.xsd), with libxml2's xmllint (installed by scripts/setup.sh).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCHEMA = fileURLToPath(new URL("./junit-strict.xsd", import.meta.url));

/** xmllint's complaints about a report, or [] when it validates. */
export function strictJunitProblems(xml: string): string[] {
  const result = spawnSync("xmllint", ["--noout", "--schema", SCHEMA, "-"], { input: xml, encoding: "utf8" });
  if (result.error) throw new Error(`xmllint could not run (${result.error.message}): scripts/setup.sh installs libxml2-utils`);
  if (result.status === 0) return [];
  return result.stderr.split("\n").filter((line) => line.trim() !== "" && !/ validates$/.test(line));
}

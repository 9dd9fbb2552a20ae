// The README shows the library example as it is run: the file in examples/, verbatim.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("the README", () => {
  it("shows the GitHub Actions recipe as the suite runs it", () => {
    const recipe = read("examples/github-actions.yml");
    expect(read("README.md")).toContain("```yaml\n" + recipe.slice(recipe.indexOf("name: replicas")).trimEnd() + "\n```");
  });

  it("shows examples/read-replica.test.ts exactly as the suite runs it", () => {
    const example = read("examples/read-replica.test.ts").trimEnd();
    expect(read("README.md")).toContain("```ts\n" + example + "\n```");
  });
});

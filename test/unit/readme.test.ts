// The README shows the library example as it is run: the file in examples/, verbatim.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("the README", () => {
  it("shows examples/read-replica.test.ts exactly as the suite runs it", () => {
    const example = read("examples/read-replica.test.ts").trimEnd();
    expect(read("README.md")).toContain("```ts\n" + example + "\n```");
  });
});

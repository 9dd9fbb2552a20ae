// Files shipped with the package (templates/, package.json), found from wherever this code runs:
// the sources under src/, or the bundle under dist/.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

function packageRoot(): string {
  if (root) return root;
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, "package.json")) || !existsSync(join(directory, "templates"))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`repl-lab's package root was not found above ${fileURLToPath(import.meta.url)}`);
    directory = parent;
  }
  root = directory;
  return root;
}

export function readPackageFile(relative: string): string {
  return readFileSync(join(packageRoot(), relative), "utf8");
}

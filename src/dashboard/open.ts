// `repl-lab dashboard --open`: the desktop's own opener (xdg-open, open, start), never a browser of our choosing.
import { spawn } from "node:child_process";

/** Resolves to null once the opener started, or to why it could not. */
export function openInBrowser(url: string): Promise<string | null> {
  const [command, args] =
    process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]] : ["xdg-open", [url]];
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "ignore", detached: true });
    child.once("error", (error) => resolve(`${command}: ${error.message}`));
    child.once("spawn", () => {
      child.unref();
      resolve(null);
    });
  });
}

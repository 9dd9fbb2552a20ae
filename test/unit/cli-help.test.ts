// The help of every command speaks to users in their terms: it cites no source articles ("seed"),
// save render's --seed, a seed for passwords.
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli.js";

/** The full --help of a command, the text added after it included. */
function helpOf(command: Command): string {
  let text = "";
  command.configureOutput({ writeOut: (chunk) => (text += chunk) });
  command.outputHelp();
  return text;
}

const everyCommand = (command: Command): Command[] => [command, ...command.commands.flatMap(everyCommand)];

describe("the CLI's help", () => {
  it("never says seed, but for render's --seed option", () => {
    const commands = everyCommand(buildProgram());
    expect(commands.length).toBeGreaterThan(40);
    const lines = commands.flatMap((command) => helpOf(command).split("\n").map((line) => `${command.name()}: ${line}`));
    const seeds = lines.filter((line) => /seed/i.test(line));
    expect(seeds.filter((line) => line.startsWith("render:   --seed <text> "))).toHaveLength(1);
    expect(seeds.filter((line) => !line.startsWith("render:   --seed <text> "))).toEqual([]);
  });
});

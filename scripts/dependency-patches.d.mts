// Types for the tests that import the build's dependency patches.
export function patchDockerModem(source: string): string;
export function patchStringWidth(source: string): string;
/** `file` is the name of a file in cli-table3's src/ folder; a file it has no patch for comes back as it is. */
export function patchCliTable3(file: string, source: string): string;
/** The source of a CommonJS module that loads `module` when it is first used. */
export function firstUseStandIn(module: string): string;

// Types for the tests that import the build's dependency patches.
export function patchDockerModem(source: string): string;
export function patchStringWidth(source: string): string;

// How a long operation tells its caller what it is doing: the CLI prints each step on stderr, the
// library hands it to an `onProgress` callback, tests collect it.

export interface Progress {
  step(message: string): void;
}

export const silentProgress: Progress = { step() {} };

export function progressTo(callback: ((message: string) => void) | undefined): Progress {
  return callback ? { step: callback } : silentProgress;
}

/**
 * Resolves on the event loop's next turn, after the I/O already started has been sent. Code that
 * loads a module there, rather than at once, runs while the engine or a server works on a request
 * instead of before the request leaves.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Work in order, for nodes whose handler awaits before it sends:
 * ups-aggregate and outage-latch (a context store), nut-ups-in (its polls).
 */

/**
 * Runs tasks one after the other, in the order they were queued: a message
 * is handled (state stored, then sent) before the next one is looked at.
 * A task that throws goes to `fail` (default: `onError`), and the queue goes on.
 */
export function serialQueue(onError: (err: unknown) => void): (task: () => Promise<void> | void, fail?: (err: unknown) => void) => void {
  let tail: Promise<void> = Promise.resolve();
  return (task, fail = onError) => {
    tail = tail.then(task).catch(fail);
  };
}

/** Ends an input handler with the error, so Node-RED reports it with the message (a catch node sees it). */
export function failWith(done: (err?: Error) => void): (err: unknown) => void {
  return (err) => done(err instanceof Error ? err : new Error(String(err)));
}

/**
 * Every process a benchmark starts is stopped by PID, also when the
 * benchmark fails or the run is interrupted: each start registers its stop
 * here, and the stops run in reverse order.
 */
type Stop = () => unknown;

const active = new Set<Cleanup>();

export class Cleanup {
  private stops: Array<{ what: string; stop: Stop }> = [];

  /** Register how to undo something just started. */
  add(what: string, stop: Stop): void {
    this.stops.push({ what, stop });
  }

  /** Undo everything, newest first; a failing stop is reported and the rest still run. */
  async run(): Promise<void> {
    while (this.stops.length > 0) {
      const { what, stop } = this.stops.pop() as { what: string; stop: Stop };
      try {
        await stop();
      } catch (err) {
        process.stderr.write(`bench: cleanup of ${what} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  }
}

/** Run `fn` with a fresh Cleanup that always runs afterwards. */
export async function withCleanup<T>(fn: (c: Cleanup) => Promise<T>): Promise<T> {
  const c = new Cleanup();
  active.add(c);
  try {
    return await fn(c);
  } finally {
    await c.run();
    active.delete(c);
  }
}

/** On Ctrl-C / SIGTERM: stop everything still running, then exit. */
export function cleanupOnSignals(): void {
  const handler = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\nbench: ${sig}: stopping everything started…\n`);
    Promise.all([...active].map((c) => c.run())).finally(() => process.exit(130));
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
}

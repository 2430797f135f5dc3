/**
 * The nut-ups-in nodes running in this Node-RED, so that an ups-aggregate
 * that (re)starts can ask for the current state of the UPSes it lists.
 *
 * Why: nut-ups-in sends on change; a steady UPS sends nothing for hours. An
 * aggregate restarted on its own (a "modified nodes" deploy, in mid-outage)
 * would otherwise count a steady UPS as never reported, and after the dead
 * time decide without it.
 */

export interface UpsSource {
  /** The topics (`ups@host:port`) this node sends now. */
  topics(): string[];
  /** Read the UPSes now and send their state, whatever the node's send mode. */
  resend(): void;
}

const sources = new Set<UpsSource>();

export function registerUpsSource(source: UpsSource): () => void {
  sources.add(source);
  return () => {
    sources.delete(source);
  };
}

/** Asks every running nut-ups-in that sends one of `topics` to send its state now. */
export function requestStates(topics: readonly string[]): void {
  if (!topics.length) return;
  for (const s of sources) if (s.topics().some((t) => topics.includes(t))) s.resend();
}

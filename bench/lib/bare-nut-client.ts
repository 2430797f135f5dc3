/**
 * Context for the poll-cost benchmark: about the least a Node.js program can
 * do to poll UPSes. One persistent connection per upsd; every second one
 * write with a LIST VAR per UPS (pipelined); replies split into lines and the
 * VAR lines' name and value kept per UPS. No state, no events, no timeouts:
 * what is left of our cost above this is our code, not Node.js.
 *
 * With BARE_WARM_MS it first polls every BARE_WARM_INTERVAL_MS for that
 * long (V8 warms up as in minutes at one poll a second), then every second.
 *
 *   node -r tsx/cjs bench/lib/bare-nut-client.ts PORT=ups1,ups2 PORT=ups1 …
 *
 * Preloaded into another process (`--require`) with BARE_ARGS="PORT=ups1 …",
 * it polls from there: inside an idle Node-RED, the floor of any node.
 */
import { connect } from "node:net";

function poll(port: number, upses: string[]): void {
  const socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  const values = new Map<string, Map<string, string>>(upses.map((u) => [u, new Map()]));
  const request = upses.map((u) => `LIST VAR ${u}\n`).join("");
  let rest = "";
  socket.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString("latin1")).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      const m = /^VAR (\S+) (\S+) "(.*)"$/.exec(line);
      if (m) values.get(m[1])?.set(m[2], m[3]);
    }
  });
  socket.on("error", (err) => {
    process.stderr.write(`bare client ${port}: ${err.message}\n`);
    process.exit(1);
  });
  socket.on("connect", () => {
    const tick = (): void => {
      socket.write(request);
    };
    tick();
    const warmMs = Number(process.env.BARE_WARM_MS ?? 0);
    if (!(warmMs > 0)) {
      setInterval(tick, 1000);
      return;
    }
    const fast = setInterval(tick, Number(process.env.BARE_WARM_INTERVAL_MS ?? 200));
    setTimeout(() => {
      clearInterval(fast);
      setInterval(tick, 1000);
    }, warmMs);
  });
}

function start(args: string[]): void {
  for (const arg of args) {
    const [port, list] = arg.split("=");
    poll(Number(port), list.split(","));
  }
}

if (require.main === module) {
  start(process.argv.slice(2));
  process.on("SIGTERM", () => process.exit(0));
} else if (process.env.BARE_ARGS) start(process.env.BARE_ARGS.split(" ").filter(Boolean));

/**
 * Context for the poll-cost benchmark: about the least a Node.js program can
 * do to poll UPSes. One persistent connection per upsd; every second one
 * write with a LIST VAR per UPS (pipelined), unless the last round is not
 * all answered yet (then that second is skipped, as a client that waits for
 * its replies does; without it, a warm-up faster than upsd at 200 UPSes
 * queued requests for minutes); replies split into lines and the
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

/**
 * SIGWINCH pauses the polling, the next one resumes it (the benchmark's
 * windows where another client is measured alone). Not SIGUSR2: Node-RED
 * exits on it (nodemon's restart); SIGWINCH is ignored by default. Not
 * SIGSTOP either: upsd drops a client that stops reading with a list
 * unanswered (at 200 UPSes, one round did not fit the socket's buffers),
 * so replies already asked for are still read while paused.
 */
let paused = false;

function poll(port: number, upses: string[]): void {
  const socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  const values = new Map<string, Map<string, string>>(upses.map((u) => [u, new Map()]));
  const request = upses.map((u) => `LIST VAR ${u}\n`).join("");
  let rest = "";
  // lists not answered yet: a round is skipped while the last one is (as any client waits for its replies)
  let unanswered = 0;
  socket.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString("latin1")).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      const m = /^VAR (\S+) (\S+) "(.*)"$/.exec(line);
      if (m) values.get(m[1])?.set(m[2], m[3]);
      else if (line.startsWith("END LIST") || line.startsWith("ERR")) unanswered--;
    }
  });
  socket.on("error", (err) => {
    process.stderr.write(`bare client ${port}: ${err.message}\n`);
    process.exit(1);
  });
  // not a baseline any more: say so (the benchmark stops on a baseline that exited)
  socket.on("close", () => {
    process.stderr.write(`bare client ${port}: upsd closed the connection (${unanswered} lists unanswered)\n`);
    process.exit(1);
  });
  socket.on("connect", () => {
    let lastWrite = performance.now();
    const tick = (): void => {
      if (paused) {
        // upsd sheds a client silent for a minute: a word now and then while paused
        if (performance.now() - lastWrite > 30000) {
          lastWrite = performance.now();
          socket.write("VER\n");
        }
        return;
      }
      if (unanswered > 0) return;
      lastWrite = performance.now();
      unanswered = upses.length;
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
  process.on("SIGWINCH", () => (paused = !paused));
  for (const arg of args) {
    const [port, list] = arg.split("=");
    poll(Number(port), list.split(","));
  }
}

if (require.main === module) {
  start(process.argv.slice(2));
  process.on("SIGTERM", () => process.exit(0));
} else if (process.env.BARE_ARGS) start(process.env.BARE_ARGS.split(" ").filter(Boolean));

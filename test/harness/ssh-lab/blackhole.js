/**
 * ssh-lab's no-banner listener (test/harness/ssh-lab.ts runs it with Node.js
 * as `node blackhole.js PORT LOGFILE ADDRESS…`): accepts TCP on PORT at every
 * ADDRESS and never sends an SSH banner, so a client waits until its own
 * timeout. Appends "accepted <remote port> on <address>" to LOGFILE for each
 * connection, prints "listening" once every address listens, and on SIGTERM
 * closes every connection and exits. One process for any number of addresses.
 */
const [port, logFile, ...addrs] = process.argv.slice(2);
const fs = require("fs");
const socks = new Set();
let listening = 0;
for (const addr of addrs) {
  const srv = require("net").createServer((s) => {
    socks.add(s);
    fs.appendFileSync(logFile, "accepted " + s.remotePort + " on " + addr + "\n");
    s.on("error", () => {});
    s.on("close", () => socks.delete(s));
  });
  srv.listen(+port, addr, () => {
    if (++listening === addrs.length) process.stdout.write("listening\n");
  });
}
process.on("SIGTERM", () => {
  for (const s of socks) s.destroy();
  process.exit(0);
});

/**
 * nut-command: on a "go" message, sends ONE configured command to one UPS of
 * a nut-server (FSD, an instant command, or SET VAR), after waiting, when
 * configured, for the shutdown results of some ssh-hosts and for the other
 * upsmon clients of the UPS to log out; reports what upsd and the driver
 * did (TRACKING). A message can only say "go": what is sent is the
 * operator's. The decisions are in core/nut/command.ts, the session in
 * core/nut/commander.ts; this file wires them to Node-RED and keeps the
 * hosts' results in a context store (so a restart in mid-outage keeps them).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { NutCommandResult, NutCommandWaited } from "../core/contract";
import {
  type CommandConfig,
  type HostReport,
  type Outcome,
  type RawCommandConfig,
  commandLabel,
  decideWait,
  failureText,
  makeCommandResult,
  noWait,
  parseReports,
  readCommandConfig,
  readInput,
  readyStatus,
  recordReport,
  resultStatus,
  sendingStatus,
  storeLostStatus,
  summarizeCommand,
  waitingStatus,
  usersLine,
  waitsNothing,
} from "../core/nut/command";
import type { Sent } from "../core/nut/commander";
import { topicOf } from "../core/nut/monitor";
import { now } from "./lib/clock";
import { loadStored, saveContext, storeProblemMessage } from "./lib/context-store";
import { copyMessage } from "./lib/copy-message";
import { inputError, refuseMisconfigured } from "./lib/errors";
import type { NutServerNode } from "./lib/nut-server-api";
import { failWith, serialQueue } from "./lib/serial-queue";
import { statusShower } from "./lib/status";

interface NutCommandDef extends NodeDef, RawCommandConfig {
  server: string;
  store?: string;
}

type Send = (msg: NodeMessage) => void;

/** A go message waiting for its command's result. */
interface Waiting {
  msg: NodeMessageInFlow;
  send: Send;
  done: (err?: Error) => void;
}

/** The command of one go, with the messages that joined it. */
interface Run {
  outage: string | null;
  /** Monotonic ms of the go. */
  since: number;
  phase: "waiting" | "sending";
  waiting: Waiting[];
  /** The other upsmon clients are gone (null: not known yet). */
  clientsGone: boolean | null;
  timer: NodeJS.Timeout | null;
}

/** Context key of the hosts' results. */
const KEY = "nutCommandReports";
/** How often the waits are looked at again, and LIST CLIENT asked (ms). */
const TICK_MS = 1000;
/** Time between two GET TRACKING (ms). */
const TRACKING_POLL_MS = 500;
/** How many messages may join one command (the first included); later ones are refused. */
const MAX_JOINED = 16;

export = function (RED: NodeAPI) {
  function NutCommandNode(this: Node, def: NutCommandDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const server = RED.nodes.getNode(def.server) as NutServerNode | null;
    const { config, problems } = readCommandConfig(def);
    const texts = problems.map((p) => RED._(`nut-command.errors.${p.key}`, p.params));
    if (!server || server.type !== "nut-server") texts.unshift(RED._("nut-command.errors.no-server"));
    if (texts.length || !server) {
      refuseMisconfigured(RED, node, texts);
      return;
    }
    run(node, def, config, server);
  }

  function run(node: Node, def: NutCommandDef, config: CommandConfig, server: NutServerNode) {
    const store = def.store || "";
    const show = statusShower(RED, node);
    const queue = serialQueue((err) => node.error(RED._("nut-command.errors.internal", { error: String(err) })));
    const aborter = new AbortController();
    let reports: HostReport[] = [];
    /** When each host's report arrived, on the monotonic clock (reports read back at start: the start). */
    const reportedAt = new Map<string, number>();
    let current: Run | null = null;
    let sending: Promise<void> | null = null;
    let closed = false;

    const hasUser = server.commander.username !== null;
    show(readyStatus(config, hasUser));
    // said at deploy, not first at the last step of an outage
    // the margin starts when the last host reported, the deadline at the go: a margin as long as the deadline is always cut short
    if (config.hosts.length > 0 && config.marginMs >= config.deadlineMs) {
      node.warn(RED._("nut-command.warn.margin-past-deadline", { margin: config.marginMs / 1000, deadline: config.deadlineMs / 1000 }));
    }
    if (!hasUser) node.warn(RED._("nut-command.warn.no-user", { address: server.address, line: usersLine(config.kind, config.command) }));
    queue(async () => {
      const hosts = config.hosts;
      const { value, problem } = await loadStored(node, RED.settings, KEY, store, (x) => parseReports(x, hosts));
      reports = value ?? [];
      const at = now().mono;
      for (const r of reports) reportedAt.set(r.host, at);
      if (problem) {
        const text =
          problem.kind === "unreadable"
            ? RED._("nut-command.errors.store-unreadable", { error: problem.error })
            : RED._(`nut-command.errors.store-${problem.kind}`, problem.kind === "empty-file" ? { file: problem.file } : {});
        node.error(text, storeProblemMessage(node, store, KEY, problem));
        show(storeLostStatus());
      }
    });

    const finish = (r: Run, result: NutCommandResult): void => {
      if (current === r) current = null;
      const topic = topicOf(config.ups, server.address);
      r.waiting.forEach((w, i) => {
        const payload = i === 0 ? result : { ...result, joined: true };
        const { copy, dropped } = copyMessage(RED, w.msg as NodeMessage);
        if (dropped.length) node.warn(RED._("nut-command.warn.not-copied", { properties: dropped.join(", ") }));
        const out = Object.assign(copy, { payload, topic, summary: summarizeCommand(payload) });
        try {
          w.send(out);
          if (i === 0) {
            if (result.result === "FAILED" || result.result === "REFUSED") node.error(out.summary, out);
            else if (result.result === "UNKNOWN") node.warn(out.summary);
            else node.log(out.summary);
          }
        } catch (err) {
          node.error(err instanceof Error ? err.message : String(err), w.msg);
        }
        w.done();
      });
      show(resultStatus(result));
    };

    const outcomeOf = (sent: Sent): Outcome => {
      const base = { result: sent.result, code: sent.code, tracking: sent.tracking, unknownBecause: sent.unknownBecause };
      if (sent.result === "FAILED") {
        return { ...base, error: failureText(config, server.address, sent.code ?? "UNKNOWN", server.commander.username, sent.detail ?? sent.code ?? "") };
      }
      if (sent.result === "REFUSED") {
        const key = sent.code === "ON-LINE-POWER" ? "refused-online" : "refused-status";
        return { ...base, error: RED._(`nut-command.errors.${key}`, { command: commandLabel(config), ups: config.ups, status: sent.status ?? "" }) };
      }
      if (sent.result === "UNKNOWN") {
        const key = sent.unknownBecause === "driver" ? "unknown-driver" : "unknown-timeout";
        return { ...base, error: RED._(`nut-command.errors.${key}`, { seconds: config.trackingTimeoutMs / 1000, detail: sent.detail ?? "" }) };
      }
      return { ...base, error: null };
    };

    const send = async (r: Run, waited: NutCommandWaited): Promise<void> => {
      r.phase = "sending";
      show(sendingStatus(config, config.kind !== "fsd"));
      const sent = await server.commander.send(config, { pollMs: TRACKING_POLL_MS, signal: aborter.signal });
      const at = now();
      finish(r, makeCommandResult(config, server.address, outcomeOf(sent), waited, at.mono - r.since, at.wall));
    };

    const startSending = (r: Run, waited: NutCommandWaited): void => {
      if (r.timer) clearTimeout(r.timer);
      r.timer = null;
      sending = send(r, waited).catch((err: unknown) => {
        // a bug of ours: the messages still get an answer
        const at = now();
        const outcome: Outcome = { result: "FAILED", code: "INTERNAL", tracking: false, error: String(err) };
        finish(r, makeCommandResult(config, server.address, outcome, waited, at.mono - r.since, at.wall));
      });
    };

    /** Looks at the waits of `r`: sends when they are over, else looks again later. */
    const check = (r: Run): void => {
      if (closed || current !== r || r.phase !== "waiting") return;
      const t = now().mono;
      const d = decideWait({ config, outage: r.outage, reports, reportedAt, clientsGone: r.clientsGone, since: r.since, now: t });
      if (d.ready) {
        startSending(r, d.waited);
        return;
      }
      show(waitingStatus(d));
      if (r.timer) clearTimeout(r.timer);
      r.timer = setTimeout(() => tick(r), Math.max(1, Math.min(TICK_MS, (d.next ?? Infinity) - t)));
    };

    const tick = (r: Run): void => {
      r.timer = null;
      if (!config.waitClients) return check(r);
      server.commander.otherClients(config.ups).then(
        (others) => {
          r.clientsGone = others.length === 0;
          check(r);
        },
        () => check(r), // not known this time (upsd unreachable): the deadline still ends the wait
      );
    };

    const go = (w: Waiting, outage: string | null): void => {
      if (current) {
        // a go while one waits or runs joins it: never a second command
        if (current.waiting.length >= MAX_JOINED) {
          w.done(inputError(RED, node, RED._("nut-command.errors.too-many-joined", { max: MAX_JOINED })));
          return;
        }
        current.waiting.push(w);
        return;
      }
      const r: Run = { outage, since: now().mono, phase: "waiting", waiting: [w], clientsGone: null, timer: null };
      current = r;
      if (waitsNothing(config)) startSending(r, noWait(config));
      else tick(r);
    };

    node.on("input", (msg: NodeMessageInFlow, sendFn: Send, done: (err?: Error) => void) => {
      queue(async () => {
        const input = readInput(msg as unknown as Record<string, unknown>, config, now().wall);
        switch (input.type) {
          case "choosing":
            done(inputError(RED, node, RED._("nut-command.errors.choosing", { property: input.property })));
            return;
          case "result":
            if (input.report) {
              reports = recordReport(reports, input.report, config.hosts);
              reportedAt.set(input.report.host, now().mono);
              try {
                await saveContext(node, KEY, { reports }, store);
              } catch (err) {
                node.error(RED._("nut-command.errors.save", { error: String(err) }), msg);
              }
              if (current) check(current);
            }
            done();
            return;
          case "restored": {
            const r = current;
            if (r && r.phase === "waiting") {
              if (r.timer) clearTimeout(r.timer);
              const at = now();
              const outcome: Outcome = { result: "CANCELLED", code: null, tracking: false, error: null };
              const d = decideWait({ config, outage: r.outage, reports, reportedAt, clientsGone: r.clientsGone, since: r.since, now: at.mono });
              finish(r, makeCommandResult(config, server.address, outcome, { ...d.waited, cutShort: [] }, at.mono - r.since, at.wall));
            }
            done();
            return;
          }
          case "power-on":
            done();
            return;
          case "go":
            go({ msg, send: sendFn, done }, input.outage);
            return;
        }
      }, failWith(done));
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      closed = true;
      aborter.abort();
      const r = current;
      if (r?.timer) clearTimeout(r.timer);
      queue(async () => {
        // a command being sent finishes (a tracking wait ends at once); waiting messages end unanswered
        if (sending) await sending;
        if (current && current.phase === "waiting") for (const w of current.waiting) w.done();
        current = null;
        done();
      });
    });
  }

  RED.nodes.registerType("nut-command", NutCommandNode);
};

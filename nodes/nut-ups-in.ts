/**
 * nut-ups-in: polls one UPS (or every UPS) of a nut-server and sends UPS
 * state messages (core/contract.ts UpsState) on change, every poll, or on
 * events only. An input message forces a poll. The work is in
 * core/nut/monitor.ts; this file wires it to Node-RED.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { StateChange } from "../core/nut/client";
import type { NutError } from "../core/nut/errors";
import {
  alertPolling,
  applyListError,
  applyReadings,
  currentStates,
  errorMessage,
  newMonitor,
  readUpses,
  topicOf,
  upsMessage,
  type MonitorOptions,
  type OutputMode,
} from "../core/nut/monitor";
import { flag, numberOr, within } from "../core/config";
import { encodeArg } from "../core/nut/protocol";
import { DEFAULT_TIMING } from "../core/nut/status";
import { type ConnectionShown, monitorStatus } from "../core/nut/ups-state";
import { now } from "./lib/clock";
import { copyMessage } from "./lib/copy-message";
import { registerUpsSource } from "./lib/ups-registry";
import type { NutServerNode, NutServerUser } from "./lib/nut-server-api";
import { serialQueue } from "./lib/serial-queue";
import { earlyFor, pollClock } from "./lib/poll-clock";
import { refuseMisconfigured } from "./lib/errors";
import { statusShower } from "./lib/status";

interface NutUpsInDef extends NodeDef {
  server: string;
  mode: "one" | "all";
  ups: string;
  interval: string | number;
  alertInterval: string | number;
  output: OutputMode;
  vars: boolean;
  nocomm: string | number;
}

type Send = (msg: NodeMessage | NodeMessage[]) => void;
interface Trigger {
  msg: NodeMessageInFlow;
  send: Send;
  done: (err?: Error) => void;
}

/** Never poll faster than this (seconds): upsd and the drivers gain nothing from it. */
const MIN_INTERVAL = 0.2;
/** Input messages that may wait for a poll at once (as nut-command and ssh-shutdown bound theirs). */
const MAX_WAITING_MESSAGES = 16;

export = function (RED: NodeAPI) {
  function NutUpsIn(this: Node, def: NutUpsInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const server = RED.nodes.getNode(def.server) as NutServerNode | null;
    const all = def.mode === "all";
    const upsName = String(def.ups ?? "").trim();
    const interval = numberOr(def.interval, server?.interval ?? 5);
    const alertInterval = numberOr(def.alertInterval, 2);
    const nocomm = numberOr(def.nocomm, DEFAULT_TIMING.nocommWarnMs / 1000);
    const output: OutputMode = def.output === "poll" || def.output === "events" ? def.output : "change";

    const configError = ((): string | null => {
      if (!server) return RED._("nut-ups-in.errors.no-server");
      if (!all && !upsName) return RED._("nut-ups-in.errors.no-ups");
      if (!all && !validName(upsName)) return RED._("nut-ups-in.errors.bad-ups", { ups: upsName });
      for (const [key, v] of [
        ["interval", interval],
        ["alertInterval", alertInterval],
      ] as const) {
        if (!within(v, { min: MIN_INTERVAL })) return RED._("nut-ups-in.errors.bad-interval", { field: key, min: MIN_INTERVAL });
      }
      if (!within(nocomm, { above: 0 })) return RED._("nut-ups-in.errors.bad-nocomm");
      return null;
    })();

    if (configError || !server) {
      refuseMisconfigured(RED, node, [configError ?? RED._("nut-ups-in.errors.no-server")]);
      return;
    }

    const opts: MonitorOptions = {
      server: server.address,
      output,
      includeVars: flag(def.vars, false),
      timing: { ...DEFAULT_TIMING, nocommWarnMs: nocomm * 1000 },
    };
    let monitor = newMonitor(now().mono);
    /** Cancels the next regular poll (set on the shared poll clock). */
    let cancelNext: (() => void) | null = null;
    let closed = false;
    /** Polls run one after the other: a forced poll waits for the running one. */
    const polls = serialQueue(() => undefined);
    let lastWarning: string | null = null;
    /** The status is recomputed after each poll that changed something: shown again only when it changes (the editor gets every call). */
    const show = statusShower(RED, node, true);
    /** The shared connection, shown until the first reading. */
    let connection: ConnectionShown = { state: "idle" };

    const srv: NutServerNode = server;

    /**
     * The next poll, one interval after the start of the last one (fixed
     * rate, as the interval promises: counting from its end would add the
     * poll's own duration to every period), or a little sooner with the
     * polls of other nodes due then (nodes/lib/poll-clock.ts).
     */
    function schedule(lastStart = performance.now()): void {
      if (closed) return;
      cancelNext?.();
      const ms = (alertPolling(monitor) ? Math.min(alertInterval, interval) : interval) * 1000;
      cancelNext = pollClock.schedule(lastStart + ms, earlyFor(ms), due);
    }

    function due(): void {
      cancelNext = null;
      enqueue(null);
    }

    function enqueue(trigger: Trigger | null): void {
      polls(
        () => poll(trigger),
        (err: unknown) => {
          // a bug of ours must not stop the polling: tell it and go on
          node.error(RED._("nut-ups-in.errors.internal", { error: String(err) }), trigger?.msg);
          trigger?.done();
          schedule();
        },
      );
    }

    async function poll(trigger: Trigger | null): Promise<void> {
      if (closed) return trigger?.done();
      cancelNext?.();
      cancelNext = null;
      const started = performance.now();
      const known = [...monitor.upses.keys()];
      const { readings, listError } = await readUpses(srv.reader, all ? null : upsName, known, opts.includeVars);
      if (closed) return trigger?.done();
      const at = now();
      const result = applyReadings(monitor, readings, at, opts, trigger !== null);
      monitor = result.monitor;
      const send: Send = trigger ? trigger.send : (m) => node.send(m);
      for (const out of result.outputs) {
        if (!out.send && !out.report) continue; // most polls of most UPSes: nothing new, nothing to build
        let base: NodeMessage = {};
        if (trigger) {
          const { copy, dropped } = copyMessage(RED, trigger.msg);
          base = copy;
          if (dropped.length) node.warn(RED._("nut-ups-in.warn.not-copied", { properties: dropped.join(", ") }));
        }
        const msg: NodeMessage = { ...base, ...upsMessage(out) };
        if (out.report) node.error(out.report, msg);
        if (out.send) send(msg);
      }
      if (listError) {
        const r = applyListError(monitor, listError, at, opts);
        monitor = r.monitor;
        if (r.report) node.error(r.report, errorMessage("*", opts.server, listError.code));
      }
      // the status only says what hasChanged() looks at: recompute it when something did
      if (listError) connection = { state: "disconnected", code: listError.code };
      if (listError || result.outputs.some((o) => o.changed)) showStatus();
      trigger?.done();
      schedule(started);
    }

    function showStatus(): void {
      const view = monitorStatus(currentStates(monitor), all, connection);
      if (view) show(view);
    }

    const user: NutServerUser = {
      id: node.id,
      onServerState(change: StateChange) {
        // before the first reading the connection is all there is to show
        if (closed || currentStates(monitor).length > 0) return;
        if (change.state === "disconnected") connection = { state: "disconnected", code: change.error?.code ?? "?" };
        else if (change.state === "connecting" || change.state === "connected") connection = { state: change.state };
        else return;
        showStatus();
      },
      onServerWarning(err: NutError) {
        if (closed || err.message === lastWarning) return;
        lastWarning = err.message;
        node.error(
          RED._("nut-ups-in.errors.server-refused", { address: opts.server, error: err.message }),
          errorMessage(all ? "*" : upsName, opts.server, err.code),
        );
      },
    };

    server.register(user);
    enqueue(null);
    // an ups-aggregate that (re)starts on its own asks for the current state (nodes/lib/ups-registry.ts)
    const unregister = registerUpsSource({
      topics: () => (all ? [...monitor.upses.keys()] : [upsName]).map((u) => topicOf(u, opts.server)),
      resend: () => enqueue({ msg: {} as NodeMessageInFlow, send: (m) => node.send(m), done: () => undefined }),
    });

    /** Messages waiting for their poll: each holds its message and costs a round trip, so they are bounded. */
    let waiting = 0;
    node.on("input", (msg: NodeMessageInFlow, send: Send, done: (err?: Error) => void) => {
      if (waiting >= MAX_WAITING_MESSAGES) return done(new Error(RED._("nut-ups-in.errors.busy", { max: MAX_WAITING_MESSAGES })));
      waiting++;
      let ended = false;
      enqueue({
        msg,
        send,
        done: (err?: Error) => {
          if (!ended) waiting--;
          ended = true;
          done(err);
        },
      });
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      closed = true;
      cancelNext?.();
      cancelNext = null;
      unregister();
      server.deregister(user, done);
    });
  }

  /** A UPS name we can send: printable ASCII (encodeArg refuses the rest). */
  function validName(name: string): boolean {
    try {
      encodeArg(name);
      return true;
    } catch {
      return false;
    }
  }

  RED.nodes.registerType("nut-ups-in", NutUpsIn);
};

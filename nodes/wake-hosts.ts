/**
 * wake-hosts ("wake when power returns"): records the hosts ssh-shutdown
 * reports shut down, and once power is back, recharged and stable, wakes
 * them with Wake-on-LAN until each answers on its SSH port. The decisions
 * are in core/wake/wake.ts, the packets and the SSH check in
 * core/wake/wol.ts; this file wires them to Node-RED, keeps the recorded
 * hosts in a context store (written before anything is sent) and runs one
 * waking per host, in parallel.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import type { WakeEvent, WakeResult } from "../core/contract";
import { timerDelay } from "../core/moment";
import { type WakeTarget, wakeMessage, wakeResult } from "../core/wake/result";
import {
  type RawWakeConfig,
  type RecordedHost,
  type WakeInput,
  type WakeShown,
  type WakeStep,
  initialWake,
  parseSavedWake,
  readWakeConfig,
  readWakeMessage,
  savedWake,
  wakeStatus,
  wakeStep,
} from "../core/wake/wake";
import { openUdpSender, probeSsh, wakeHost } from "../core/wake/wol";
import { now } from "./lib/clock";
import { type StoreProblem, loadStored, reportStoreProblem, saveContext, storeKeeps, storeKind } from "./lib/context-store";
import { inputError, refuseMisconfigured } from "./lib/errors";
import { failWith, serialQueue } from "./lib/serial-queue";
import { isSshHost } from "./lib/ssh-host-api";
import { statusShower } from "./lib/status";

interface WakeHostsDef extends NodeDef, RawWakeConfig {
  store?: string;
}

/** One host being woken. */
interface Waker {
  name: string;
  controller: AbortController;
  /** Why it was stopped, if it was. */
  stoppedBy: "power" | "reset" | "close" | null;
  work: Promise<void>;
}

/** Context key of the recorded hosts. */
const KEY = "wakeHosts";
/** How often the status's "mains stable 2/5 min" moves on. */
const STATUS_REFRESH_MS = 10_000;

export = function (RED: NodeAPI) {
  function WakeHostsNode(this: Node, def: WakeHostsDef) {
    RED.nodes.createNode(this, def);
    const { config, problems } = readWakeConfig(def);
    if (problems.length > 0) {
      refuseMisconfigured(
        RED,
        this,
        problems.map((p) => RED._(`wake-hosts.errors.${p.key}`, p.params)),
      );
      return;
    }
    run(this, def, config);
  }

  function run(node: Node, def: WakeHostsDef, config: ReturnType<typeof readWakeConfig>["config"]) {
    const store = def.store || "";
    const keeps = storeKeeps(storeKind(RED.settings, store));
    const show = statusShower(RED, node, true);
    const queue = serialQueue((err) => node.error(`${RED._("wake-hosts.errors.internal")}: ${String(err)}`));
    let state = initialWake();
    let storeFailed = false;
    let lost: StoreProblem | null = null;
    let otherHosts = 0;
    let last: WakeShown["last"] = null;
    let closing = false;
    const wakers = new Map<string, Waker>();
    let checkTimer: ReturnType<typeof setTimeout> | null = null;
    let refreshTimer: ReturnType<typeof setTimeout> | null = null;

    /** The host as its ssh-host describes it now, or why it cannot be woken. */
    const targetOf = (id: string): { target: WakeTarget; problem: string | null } => {
      const host = RED.nodes.getNode(id);
      if (!isSshHost(host)) return { target: { id, name: id, address: "", port: 0, mac: null }, problem: RED._("wake-hosts.errors.no-host", { id }) };
      const info = host.sshHost;
      const target: WakeTarget = { id, name: info.name, address: info.address, port: info.port, mac: host.mac };
      if (!target.mac) return { target, problem: RED._("wake-hosts.errors.no-mac", { host: info.name }) };
      if (!info.address) return { target, problem: RED._("wake-hosts.errors.no-address", { host: info.name }) };
      return { target, problem: null };
    };
    const nameOf = (id: string): string => targetOf(id).target.name;

    // A host that cannot be woken is said at deploy, not first when power returns.
    for (const id of config.hosts) {
      const { problem } = targetOf(id);
      if (problem) node.warn(problem);
    }

    function status() {
      if (closing) return;
      const mono = now().mono;
      show(
        wakeStatus(config, state, mono, {
          waking: [...wakers.values()].map((w) => w.name),
          last,
          otherHosts,
          names: nameOf,
          store: { problem: storeFailed ? "failed" : lost ? "lost" : null, keeps },
        }),
      );
      // "mains stable 2/5 min" moves on while hosts wait for it
      if (refreshTimer) clearTimeout(refreshTimer);
      refreshTimer = null;
      const back = state.backSince;
      if (back !== null && state.hosts.some((h) => !h.waking) && mono < back + config.stableMs) {
        refreshTimer = setTimeout(status, Math.min(STATUS_REFRESH_MS, timerDelay(back + config.stableMs, mono)));
      }
    }

    const send = (result: WakeResult, outage: RecordedHost["outage"]): void => {
      const out = wakeMessage(result, outage);
      node.send(out);
      if (result.event === "NO_ANSWER" || result.event === "FAILED") node.error(out.summary, out);
      else if (result.event === "UP") node.log(out.summary);
    };

    const ended = (h: RecordedHost, event: Exclude<WakeEvent, "WAKING" | "STOPPED">): void => {
      last = { host: nameOf(h.id), event };
      step({ kind: "ended", hostId: h.id });
    };

    /** Wakes one recorded host (its own waking: a dead host never delays the others). */
    const startWake = (h: RecordedHost): void => {
      const { target, problem } = targetOf(h.id);
      const result = (event: WakeEvent, more: Parameters<typeof wakeResult>[3]) => wakeResult(target, config, event, more, Date.now());
      if (problem) {
        send(result("FAILED", { simulated: h.simulated, error: problem }), h.outage);
        ended(h, "FAILED");
        return;
      }
      if (h.simulated) {
        send(result("WAKING", { simulated: true }), h.outage);
        send(result("SIMULATED", { simulated: true }), h.outage);
        ended(h, "SIMULATED");
        return;
      }
      const controller = new AbortController();
      let started = false;
      const waker: Waker = { name: target.name, controller, stoppedBy: null, work: Promise.resolve() };
      wakers.set(h.id, waker);
      const begin = now().mono;
      waker.work = wakeHost(
        {
          mac: target.mac ?? "",
          broadcast: config.broadcast,
          wolPort: config.wolPort,
          address: target.address,
          sshPort: target.port,
          repeatMs: config.repeatMs,
          deadlineMs: config.deadlineMs,
          signal: controller.signal,
          onPacket: (packets, error) => {
            if (started) return;
            // announced once its first packet is on the way (or failed to go)
            started = true;
            send(result("WAKING", { simulated: false, packets, duration: now().mono - begin, error }), h.outage);
          },
        },
        { openSender: openUdpSender, probe: probeSsh, now: () => now().mono },
      )
        .then((outcome) => {
          if (wakers.get(h.id) === waker) wakers.delete(h.id);
          if (waker.stoppedBy === "close") return;
          const more = { simulated: false, packets: outcome.packets, duration: outcome.durationMs, error: outcome.error };
          if (outcome.up) {
            send(result("UP", more), h.outage);
            ended(h, "UP");
          } else if (outcome.stopped) {
            const why = RED._(waker.stoppedBy === "reset" ? "wake-hosts.errors.stopped-reset" : "wake-hosts.errors.stopped-power");
            send(result("STOPPED", { ...more, error: why }), h.outage);
            status();
          } else {
            send(result("NO_ANSWER", more), h.outage);
            ended(h, "NO_ANSWER");
          }
        })
        .catch((err: unknown) => {
          // not expected (wakeHost reports failures in its outcome): still an end for this host
          if (wakers.get(h.id) === waker) wakers.delete(h.id);
          send(result("FAILED", { simulated: false, error: err instanceof Error ? err.message : String(err) }), h.outage);
          ended(h, "FAILED");
        });
    };

    const stopAll = (why: "power" | "reset" | "close"): void => {
      for (const w of wakers.values()) {
        w.stoppedBy ??= why;
        w.controller.abort();
      }
    };

    const arm = (at: number | null): void => {
      if (checkTimer) clearTimeout(checkTimer);
      checkTimer = null;
      if (at === null || closing) return;
      checkTimer = setTimeout(
        () => {
          checkTimer = null;
          step({ kind: "tick" });
        },
        timerDelay(at, now().mono),
      );
    };

    /** Stores the recorded hosts; a failure is an error (with `msg` when one caused it) and a red status. */
    const save = async (msg?: NodeMessageInFlow): Promise<void> => {
      try {
        await saveContext(node, KEY, savedWake(state), store);
        storeFailed = false;
        lost = null;
      } catch (err) {
        storeFailed = true;
        node.error(`${RED._("wake-hosts.errors.save")}: ${String(err)}`, msg);
      }
    };

    /** A decision and what follows from it: stored before anything is sent or woken. */
    const apply = async (s: WakeStep, msg?: NodeMessageInFlow): Promise<void> => {
      state = s.state;
      if (s.save) await save(msg);
      if (s.stop) stopAll(s.note === "cleared" ? "reset" : "power");
      if (closing) return;
      for (const h of s.wake) startWake(h);
      arm(s.checkAt);
      status();
    };

    /** An input that is not a message (the timer, a waking that ended), in turn with the messages. */
    const step = (input: WakeInput): void => {
      queue(() => (closing ? undefined : apply(wakeStep(config, state, input, now().mono))));
    };

    // Read the recorded hosts before the first message is looked at (the queue keeps that order).
    queue(async () => {
      const { value, problem } = await loadStored(node, RED.settings, KEY, store, (x) => parseSavedWake(x, config));
      state = value ?? initialWake();
      if (problem) {
        // Lost: hosts shut down before the restart will not be woken by this node; say so.
        lost = problem;
        storeFailed = problem.kind === "unreadable";
        reportStoreProblem(RED, node, store, KEY, problem);
      }
      status();
    });

    node.on("input", (msg: NodeMessageInFlow, _send, done) => {
      queue(async () => {
        const read = readWakeMessage(msg, Date.now());
        if ("error" in read) {
          done(inputError(RED, node, read.error));
          return;
        }
        if ("nothing" in read) {
          done();
          return;
        }
        const s = wakeStep(config, state, read.input, now().mono);
        if (s.note === "other-host" && read.input.kind === "result") {
          otherHosts++;
          node.debug(RED._("wake-hosts.debug.other-host", { id: read.input.hostId }));
        }
        await apply(s, msg);
        done();
      }, failWith(done));
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      if (checkTimer) clearTimeout(checkTimer);
      if (refreshTimer) clearTimeout(refreshTimer);
      // Wakings stop here; the hosts stay recorded (stored with each change), woken again after the restart.
      stopAll("close");
      const works = [...wakers.values()].map((w) => w.work);
      queue(async () => {
        await Promise.all(works);
        done();
      });
    });
  }

  RED.nodes.registerType("wake-hosts", WakeHostsNode);
};

/**
 * ssh-shutdown: runs the preset's shutdown, cancel or check command on every
 * configured ssh-host at once and sends one result message per host as soon
 * as that host answers. A message may pick an allowed action, never a host
 * or a command. Delayed shutdowns it sent are remembered in node context so
 * that "power restored" (msg.action = "cancel") cancels exactly those.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { ShutdownAction, ShutdownResult } from "../core/contract";
import { numberOf } from "../core/check";
import { PRESETS, isPresetId, presetCommands } from "../core/ssh/presets";
import type { PresetCommands } from "../core/ssh/presets";
import { runCommand } from "../core/ssh/runner";
import type { Step } from "../core/ssh/runner";
import { guestPlan, readGuestConfig } from "../core/ssh/guests";
import type { ConfigProblem } from "../core/config";
import type { SshTarget } from "../core/ssh/runner";
import {
  MAX_SHARED_REQUESTS,
  cancelTargets,
  connects,
  failedResult,
  makeResult,
  markCancelled,
  markSent,
  readConfig,
  readPending,
  idleStatus,
  readRequest,
  shutdownStatus,
  stoppedStatus,
  resultMessage,
} from "../core/ssh/shutdown";
import type { Pending, RawShutdownConfig } from "../core/ssh/shutdown";
import { loadStored, persistentStore, saveContext, storeProblemMessage } from "./lib/context-store";
import { copyMessage } from "./lib/copy-message";
import { failWith } from "./lib/serial-queue";
import { isSshHost } from "./lib/ssh-host-api";
import { refuseMisconfigured } from "./lib/errors";
import { statusShower } from "./lib/status";
import type { SshHostInfo } from "./lib/ssh-host-api";

interface SshShutdownDef extends NodeDef, RawShutdownConfig {
  store?: string;
}

/** A message waiting for results of a run: the one that started it, or one that joined. */
interface Waiting {
  msg: NodeMessageInFlow;
  send: (m: NodeMessage) => void;
  /** Host ids whose result this message still waits for. */
  hosts: Set<string>;
  finished: () => void;
}

/** One host of a run: at most one connection at a time, whatever the number of messages. */
interface Slot {
  id: string;
  info: SshHostInfo;
  command: string;
  commands: PresetCommands | null;
  /** The guest steps (or their checks) run first on the same connection. */
  steps: Step[];
  controller: AbortController;
  sent: boolean;
  retrying: boolean;
  abortedBy: "cancel" | "close" | null;
  /** The message that started it; the others joined. */
  owner: Waiting;
  result: ShutdownResult | null;
}

/** The hosts of one action in progress, and the messages that share them. */
interface Run {
  action: ShutdownAction;
  slots: Map<string, Slot>;
  waiting: Waiting[];
  /** A new request for this action may join (no longer once a cancel stopped the shutdowns). */
  open: boolean;
}

const PENDING_KEY = "sshShutdownPending";

/** A host id that names no ssh-host: for results that say so. */
const unknownHost = (id: string): SshHostInfo => ({ name: id, address: "", port: 0, username: "" });

export = function (RED: NodeAPI) {
  function SshShutdown(this: Node, def: SshShutdownDef) {
    RED.nodes.createNode(this, def);
    const { config, problems } = readConfig(def);
    if (problems.length > 0) {
      refuseMisconfigured(
        RED,
        this,
        problems.map((p) => RED._(`ssh-shutdown.errors.${p.key}`, p.params)),
      );
      return;
    }
    const show = statusShower(RED, this);
    const store = def.store || "";
    /** Runs not finished yet (open to joins or not). */
    const runs = new Set<Run>();
    /** Every connection in progress, for close. */
    const inflight = new Set<Promise<void>>();
    /**
     * The last connection started per action and host: the next one for the same
     * pair waits for it to end (a run stopped by a cancel may still be closing,
     * or waiting for its command's exit), so there is never more than one.
     */
    const lanes = new Map<string, Promise<void>>();

    // A host with no pinned key warns only when a node that connects uses it.
    if (connects(config)) {
      for (const id of config.hosts) {
        const host = RED.nodes.getNode(id);
        if (isSshHost(host)) host.connectingUser();
      }
    }

    const commandsFor = (info: SshHostInfo): PresetCommands =>
      presetCommands(config.preset, {
        delayMinutes: config.delayMinutes, // a preset without a delay ignores it
        message: config.message,
        username: info.username,
        custom: config.custom,
      });

    // The pending set lives in node context: a persistent store keeps it
    // across a restart; the memory store forgets it (then a cancel finds nothing).
    // Only worth a warning when this node can both send a delayed shutdown and
    // cancel it (the examples ship on simulate and never have anything pending).
    const can = (a: ShutdownAction) => config.defaultAction === a || config.allowed.includes(a);
    if (can("shutdown") && can("cancel") && commandsFor(unknownHost("")).delayed && !persistentStore(RED.settings, store)) {
      this.warn(RED._("ssh-shutdown.warn.memory-store"));
    }
    const contextFailed = (err: unknown): void => {
      this.warn(RED._("ssh-shutdown.errors.context", { error: err instanceof Error ? err.message : String(err) }));
    };
    let pending: Pending = {};
    // Not a record: not a list this node wrote (it stores none when nothing is pending).
    const parsePending = (x: unknown): Pending | null => (x !== null && typeof x === "object" && !Array.isArray(x) ? readPending(x) : null);
    const loaded = loadStored(this, RED.settings, PENDING_KEY, store, parsePending).then(({ value, problem }) => {
      pending = value ?? {};
      if (!problem) return;
      // A cancel can no longer reach what was sent before the restart: an error for Catch, and a red status until the next action.
      this.error(
        RED._(
          `ssh-shutdown.errors.store-${problem.kind}`,
          problem.kind === "empty-file" ? { file: problem.file } : problem.kind === "unreadable" ? { error: problem.error } : {},
        ),
        storeProblemMessage(this, store, PENDING_KEY, problem),
      );
      show(idleStatus("store-lost"));
    });
    const savePending = (next: Pending): void => {
      pending = next;
      saveContext(this, PENDING_KEY, Object.keys(next).length ? next : undefined, store).catch(contextFailed);
    };

    /** The status shows what the node did; "nothing to do" texts only while it has done nothing yet. */
    let told = false;
    const showDone = (action: ShutdownAction, total: number, ok: number, failed: number, finished: boolean, retrying = 0): void => {
      told = true;
      show(shutdownStatus(action, total, ok, failed, finished, retrying));
    };
    const showNothing = (why: "nothing-to-cancel" | "restored-no-cancel" | "power-on"): void => {
      if (!told) show(idleStatus(why));
    };
    const showRun = (run: Run): void => {
      let ok = 0;
      let failed = 0;
      let retrying = 0;
      for (const slot of run.slots.values()) {
        if (slot.result?.ok) ok++;
        else if (slot.result) failed++;
        else if (slot.retrying) retrying++;
      }
      showDone(run.action, run.slots.size, ok, failed, ok + failed === run.slots.size, retrying);
    };

    const commandOf = (action: ShutdownAction, c: PresetCommands): string | null =>
      action === "cancel" ? c.cancel : action === "check" ? c.check : c.shutdown;

    const emit = (msg: NodeMessageInFlow, send: (m: NodeMessage) => void, result: ShutdownResult, warnOnly = false): void => {
      const { copy, dropped } = copyMessage(RED, msg as NodeMessage);
      if (dropped.length) this.warn(RED._("ssh-shutdown.warn.not-copied", { properties: dropped.join(", ") }));
      const out = Object.assign(copy, resultMessage(result));
      send(out);
      if (result.ok) {
        // logged once per host, by the message that ran it; a guest step that failed makes it a warning
        const guestFailed = result.steps.some((st) => !st.ok);
        if ((result.action === "shutdown" || result.action === "cancel") && !result.joined) (guestFailed ? this.warn : this.log).call(this, out.summary);
      } else if (warnOnly) this.warn(out.summary);
      else this.error(out.summary, out);
    };

    /** A host's result, to one waiting message. */
    const deliver = (w: Waiting, slot: Slot): void => {
      if (!slot.result || !w.hosts.delete(slot.id)) return;
      if (slot.abortedBy !== "close") {
        const r = w === slot.owner ? slot.result : { ...slot.result, joined: true };
        try {
          emit(w.msg, w.send, r, slot.abortedBy === "cancel");
        } catch (err) {
          this.error(err instanceof Error ? err.message : String(err), w.msg); // e.g. a message that cannot be cloned
        }
      }
      if (w.hosts.size === 0) w.finished();
    };

    /** A host's result is known: to every message waiting for it. */
    const complete = (run: Run, slot: Slot, result: ShutdownResult): void => {
      slot.result = result;
      slot.retrying = false;
      for (const w of run.waiting) deliver(w, slot);
      if ([...run.slots.values()].every((s) => s.result)) runs.delete(run);
      // a shutdown stopped by a cancel is not a failure to show: the cancel's status says it
      if (slot.abortedBy === null) showRun(run);
    };

    /** Connect to one host (the only connection for this host and action); the result goes to `complete`. */
    const launch = (run: Run, slot: Slot, target: SshTarget): void => {
      const action = run.action;
      const lane = JSON.stringify([action, slot.id]);
      const previous = lanes.get(lane) ?? Promise.resolve();
      const work = previous
        .then(() =>
          runCommand(target, slot.command === "" ? null : slot.command, {
            connectTimeoutMs: config.connectTimeoutMs,
            commandTimeoutMs: config.commandTimeoutMs,
            deadlineMs: config.deadlineMs,
            // a check is a test: one attempt per host unless the operator asked for retries
            maxAttempts: action === "check" && !config.checkRetry ? 1 : undefined,
            okExitCodes: action === "cancel" ? slot.commands?.cancelOkExitCodes : [0],
            before: slot.steps,
            signal: slot.controller.signal,
            onRetry: () => {
              slot.retrying = true;
              if (slot.abortedBy === null) showRun(run);
            },
            onSent: () => {
              slot.sent = true;
              // Sent is enough: the host may have scheduled it even if no answer comes back.
              if (action === "shutdown" && slot.commands?.delayed) {
                savePending(markSent(pending, slot.id, slot.info.name, Date.now(), slot.commands.delayMs));
              }
            },
          }),
        )
        .then((outcome) => {
          if (action === "cancel" && outcome.ok) savePending(markCancelled(pending, slot.id));
          const r = makeResult({ ...slot.info, id: slot.id }, action, slot.command, outcome, Date.now());
          if (slot.abortedBy === "cancel") r.error = RED._("ssh-shutdown.errors.stopped-by-cancel");
          complete(run, slot, r);
        })
        .catch((err: unknown) => {
          // not expected (runCommand reports every failure as an outcome): still one result per host
          if (!slot.result)
            complete(
              run,
              slot,
              failedResult({ ...slot.info, id: slot.id }, action, slot.command, err instanceof Error ? err.message : String(err), Date.now()),
            );
        });
      inflight.add(work);
      lanes.set(lane, work);
      void work.finally(() => {
        inflight.delete(work);
        if (lanes.get(lane) === work) lanes.delete(lane);
      });
    };

    /**
     * Run `action` on the hosts `ids` for one message. While a run of this
     * action is in progress it joins it: hosts already in that run are not
     * contacted again (their result, known or to come, is reported for this
     * message too), only hosts new to it are. Null: refused, the run already
     * reports to MAX_SHARED_REQUESTS messages.
     */
    const execute = (action: ShutdownAction, ids: string[], msg: NodeMessageInFlow, send: (m: NodeMessage) => void): Promise<void> | null => {
      let run = [...runs].find((r) => r.action === action && r.open);
      if (run && run.waiting.length >= MAX_SHARED_REQUESTS) return null;
      if (!run) {
        run = { action, slots: new Map(), waiting: [], open: true };
        runs.add(run);
      }
      const current = run;
      return new Promise<void>((resolve) => {
        if (ids.length === 0) return resolve();
        const w: Waiting = { msg, send, hosts: new Set(ids), finished: resolve };
        current.waiting.push(w);
        const fresh: { slot: Slot; target: SshTarget | null; failure: string | null }[] = [];
        for (const id of ids) {
          if (current.slots.has(id)) continue;
          const slot: Slot = {
            id,
            info: unknownHost(id),
            command: "",
            commands: null,
            steps: [],
            controller: new AbortController(),
            sent: false,
            retrying: false,
            abortedBy: null,
            owner: w,
            result: null,
          };
          current.slots.set(id, slot);
          fresh.push({ slot, ...prepare(action, slot) });
        }
        // every slot is in the run before any result: the run cannot look finished too early
        for (const id of ids) {
          const slot = current.slots.get(id);
          if (slot?.result) deliver(w, slot);
        }
        if (fresh.length > 0) showRun(current);
        for (const f of fresh) {
          if (f.target) launch(current, f.slot, f.target);
          else complete(current, f.slot, failedResult({ ...f.slot.info, id: f.slot.id }, action, f.slot.command, f.failure ?? "", Date.now()));
        }
      });
    };

    /** Fill a new slot from its ssh-host: a target to connect to, or why it cannot be tried. */
    const prepare = (action: ShutdownAction, slot: Slot): { target: SshTarget | null; failure: string | null } => {
      const host = RED.nodes.getNode(slot.id);
      if (!isSshHost(host)) return { target: null, failure: RED._("ssh-shutdown.errors.no-host", { id: slot.id }) };
      slot.info = host.sshHost;
      slot.commands = commandsFor(host.sshHost);
      // guests before hosts: a shutdown stops them first, a check checks those steps' privilege first
      const plan = guestPlan(config.guests, host.sshHost.username);
      slot.steps = action === "shutdown" ? plan.steps : action === "check" ? plan.checks : [];
      const command = commandOf(action, slot.commands);
      if (action === "cancel" && command === null) return { target: null, failure: RED._("ssh-shutdown.errors.no-cancel") };
      slot.command = command ?? "";
      try {
        return { target: host.target(), failure: null };
      } catch (err) {
        return { target: null, failure: err instanceof Error ? err.message : String(err) };
      }
    };

    const simulate = (msg: NodeMessageInFlow, send: (m: NodeMessage) => void): void => {
      let ok = 0;
      let failed = 0;
      for (const id of config.hosts) {
        const host = RED.nodes.getNode(id);
        const r = isSshHost(host)
          ? makeResult(
              { ...host.sshHost, id },
              "simulate",
              commandsFor(host.sshHost).shutdown,
              null,
              Date.now(),
              guestPlan(config.guests, host.sshHost.username).steps,
            )
          : failedResult({ ...unknownHost(id), id }, "simulate", "", RED._("ssh-shutdown.errors.no-host", { id }), Date.now());
        emit(msg, send, r);
        if (r.ok) ok++;
        else failed++;
      }
      showDone("simulate", config.hosts.length, ok, failed, true);
    };

    const cancel = (msg: NodeMessageInFlow, send: (m: NodeMessage) => void): Promise<void> | null => {
      // Power is back: shutdowns still trying to reach their host stop here, and a
      // shutdown asked for after this cancel starts a run of its own.
      let stopped = 0;
      for (const r of runs) {
        if (r.action !== "shutdown") continue;
        r.open = false;
        for (const slot of r.slots.values()) {
          if (!slot.result && !slot.sent && !slot.controller.signal.aborted) {
            slot.abortedBy = "cancel";
            slot.controller.abort();
            stopped++;
          }
        }
      }
      const { ids, pending: next } = cancelTargets(pending, config.hosts, Date.now());
      if (ids.length !== Object.keys(pending).length) savePending(next);
      if (ids.length === 0) {
        if (stopped > 0) {
          told = true;
          show(stoppedStatus(stopped));
        } else showNothing("nothing-to-cancel");
        return Promise.resolve();
      }
      return execute("cancel", ids, msg, send);
    };

    this.on("input", (msg: NodeMessageInFlow, send: (m: NodeMessage) => void, done: (err?: Error) => void) => {
      const request = readRequest(msg as Record<string, unknown>, config);
      if (request.ok === "nothing") {
        // power is back, or on: nothing to run, and nothing wrong
        showNothing(request.key);
        if (request.key === "power-on") this.warn(RED._("ssh-shutdown.warn.power-on"));
        done();
        return;
      }
      if (!request.ok) {
        told = true;
        show(idleStatus("refused"));
        done(new Error(RED._(`ssh-shutdown.errors.${request.key}`, request.params)));
        return;
      }
      const action = request.action;
      loaded
        .then(() => {
          if (action === "simulate") {
            simulate(msg, send);
            return;
          }
          const work = action === "cancel" ? cancel(msg, send) : execute(action, config.hosts, msg, send);
          if (work) return work;
          throw new Error(RED._("ssh-shutdown.errors.busy", { action, max: MAX_SHARED_REQUESTS }));
        })
        .then(() => done(), failWith(done));
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      for (const r of runs) {
        r.open = false;
        for (const slot of r.slots.values()) {
          // a shutdown the latch let through but that never reached its host: not resumed after the restart
          if (r.action === "shutdown" && !slot.sent && !slot.result && slot.abortedBy === null) {
            this.warn(RED._("ssh-shutdown.warn.not-sent-at-close", { host: slot.info.name }));
          }
          slot.abortedBy ??= "close";
          slot.controller.abort();
        }
      }
      // Done only once every in-flight connection is closed.
      Promise.all([...inflight]).then(() => {
        this.status({});
        done();
      });
    });
  }

  RED.nodes.registerType("ssh-shutdown", SshShutdown);

  // The editor shows the exact commands and sudoers line of a preset.
  RED.httpAdmin.get("/ssh-shutdown/preview", RED.auth.needsPermission("ssh-shutdown.read"), (req, res) => {
    const q = req.query as Record<string, unknown>;
    // Query values are text, or lists and objects (a[b]=1): only text is read, never String() of an object.
    const text = (x: unknown): string => (typeof x === "string" ? x : "");
    const preset = isPresetId(q.preset) ? q.preset : "linux";
    const username = text(q.username).slice(0, 64) || "USER";
    const c = presetCommands(preset, {
      delayMinutes: numberOf(q.delay) || 0,
      message: text(q.message),
      username,
      custom: { shutdown: text(q.customShutdown), cancel: text(q.customCancel), check: text(q.customCheck) },
    });
    // the guests: validated as at deploy; what is not valid is said, and never put in a command
    const problems: ConfigProblem[] = [];
    const guests = readGuestConfig(
      {
        guests: text(q.guests),
        guestTag: text(q.guestTag).slice(0, 100),
        guestProjects: text(q.guestProjects).slice(0, 2000),
        guestTimeout: text(q.guestTimeout).slice(0, 10),
        guestForce: text(q.guestForce),
      },
      problems,
    );
    const plan = problems.length ? guestPlan({ ...guests, kind: "none" }, username) : guestPlan(guests, username);
    res.json({ ...c, supportsDelay: PRESETS[preset].supportsDelay, steps: plan.steps, checks: plan.checks, guestSudoers: plan.sudoers, problems });
  });
};

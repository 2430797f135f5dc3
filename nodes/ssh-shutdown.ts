/**
 * ssh-shutdown: runs the preset's shutdown, cancel or check command on every
 * configured ssh-host at once and sends one result message per host as soon
 * as that host answers. A message may pick an allowed action, never a host
 * or a command. Delayed shutdowns it sent are remembered in node context so
 * that "power restored" (msg.action = "cancel") cancels exactly those.
 * A pre-flight (msg.action = "prepare") checks every host at power loss and
 * may keep its sessions for the shutdown. The orchestration (runs, phases,
 * sessions, health checks) is core/ssh/orchestrator.ts; this is its shell.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { ShutdownAction, ShutdownResult } from "../core/contract";
import { numberOf } from "../core/check";
import { PRESETS, isPresetId, presetCommands } from "../core/ssh/presets";
import type { PresetCommands } from "../core/ssh/presets";
import { runCommand } from "../core/ssh/runner";
import { guestPlan, readGuestConfig } from "../core/ssh/guests";
import type { ConfigProblem } from "../core/config";
import { SshSession } from "../core/ssh/session";
import { restoredKind, saysPowerOn } from "../core/decide/restored";
import { Orchestrator } from "../core/ssh/orchestrator";
import type { Resolved } from "../core/ssh/orchestrator";
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
  runtimeOf,
  healthSummary,
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

/** A message and its send: where a host's result goes. */
interface Requester {
  msg: NodeMessageInFlow;
  send: (m: NodeMessage) => void;
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
    const parsePending = (x: unknown): Pending | null => (x !== null && typeof x === "object" && !Array.isArray(x) ? readPending(x, config.hosts) : null);
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
    const showNothing = (why: "nothing-to-cancel" | "restored-no-cancel" | "power-on" | "no-preflight"): void => {
      if (!told) show(idleStatus(why));
    };
    const emit = (msg: NodeMessageInFlow, send: (m: NodeMessage) => void, result: ShutdownResult, warnOnly = false): void => {
      const { copy, dropped } = copyMessage(RED, msg as NodeMessage);
      if (dropped.length) this.warn(RED._("ssh-shutdown.warn.not-copied", { properties: dropped.join(", ") }));
      // a failed pre-flight says how long is left to fix it: the battery runtime of the power state that asked for it
      const out = Object.assign(copy, resultMessage(result, result.action === "prepare" ? runtimeOf(msg as Record<string, unknown>) : null));
      send(out);
      if (result.ok) {
        // logged once per host, by the message that ran it; a guest step that failed makes it a warning
        const guestFailed = result.steps.some((st) => !st.ok);
        if ((result.action === "shutdown" || result.action === "cancel") && !result.joined) (guestFailed ? this.warn : this.log).call(this, out.summary);
      } else if (warnOnly) this.warn(out.summary);
      else this.error(out.summary, out);
    };

    /** Where a host id leads for an action: its ssh-host's target and command, or why it cannot be tried. */
    const resolve = (id: string, action: ShutdownAction): Resolved => {
      const host = RED.nodes.getNode(id);
      const none: Resolved["guests"] = { steps: [], checks: [] };
      const failed = (failure: string, info = unknownHost(id), commands: PresetCommands | null = null, guests = none): Resolved => ({
        info,
        commands,
        guests,
        target: null,
        failure,
      });
      if (!isSshHost(host)) return failed(RED._("ssh-shutdown.errors.no-host", { id }));
      const info = host.sshHost;
      const commands = commandsFor(info);
      // guests before hosts: a shutdown stops them first, a check (or a pre-flight) checks those steps' privilege first
      const guests = guestPlan(config.guests, info.username);
      if (action === "cancel" && commands.cancel === null) return failed(RED._("ssh-shutdown.errors.no-cancel"), info, commands, guests);
      try {
        return { info, commands, guests, target: host.target(), failure: null };
      } catch (err) {
        return failed(err instanceof Error ? err.message : String(err), info, commands, guests);
      }
    };

    const orchestrator = new Orchestrator<Requester, SshSession>({
      connectTimeoutMs: config.connectTimeoutMs,
      commandTimeoutMs: config.commandTimeoutMs,
      deadlineMs: config.deadlineMs,
      checkRetry: config.checkRetry,
      phaseOf: (id) => config.phases.get(id) ?? 1,
      phaseDeadlineMs: config.phaseDeadlineMs,
      resolve,
      run: (target, command, opts, session) => runCommand(target, command, session ? { ...opts, session } : opts),
      // a pre-flight keeps its sessions for the shutdown only when asked to
      openSession: config.keepAlive ? (target, opts) => SshSession.open(target, opts) : undefined,
      keepForMs: config.keepForMs,
      deliver: (to, result, how) => {
        try {
          emit(to.msg, to.send, result, how.stoppedByCancel);
        } catch (err) {
          this.error(err instanceof Error ? err.message : String(err), to.msg); // e.g. a message that cannot be cloned
        }
      },
      progress: (c) => showDone(c.action, c.total, c.ok, c.failed, c.finished, c.retrying),
      // Sent is enough: the host may have scheduled it even if no answer comes back.
      sent: (id, info, commands) => {
        if (commands.delayed) savePending(markSent(pending, id, info.name, Date.now(), commands.delayMs));
      },
      cancelled: (id) => savePending(markCancelled(pending, id)),
      stoppedByCancelText: RED._("ssh-shutdown.errors.stopped-by-cancel"),
    });

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
      const stopped = orchestrator.stopShutdowns();
      const { ids, pending: next } = cancelTargets(pending, config.hosts, Date.now());
      if (ids.length !== Object.keys(pending).length) savePending(next);
      if (ids.length === 0) {
        if (stopped > 0) {
          told = true;
          show(stoppedStatus(stopped));
        } else showNothing("nothing-to-cancel");
        return Promise.resolve();
      }
      return orchestrator.execute("cancel", ids, { msg, send });
    };

    // Periodic checks: one error when a host goes bad, one message when it recovers.
    if (config.healthEveryMs > 0 && connects(config)) {
      const quiet: Requester = { msg: { _msgid: "" }, send: () => undefined };
      orchestrator.startHealth(config.hosts, config.healthEveryMs, quiet, (result, change) => {
        const out: NodeMessage = { ...resultMessage(result), summary: healthSummary(result, change), health: change };
        if (change === "bad") this.error(out.summary, out);
        else {
          this.log(out.summary);
          this.send(out);
        }
      });
    }

    this.on("input", (msg: NodeMessageInFlow, send: (m: NodeMessage) => void, done: (err?: Error) => void) => {
      const raw = msg as Record<string, unknown>;
      // Power is back (or on): the sessions a pre-flight kept are no longer needed.
      if (restoredKind(raw) || saysPowerOn(raw) || raw.action === "cancel") void orchestrator.endSessions();
      const request = readRequest(raw, config);
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
          const work = action === "cancel" ? cancel(msg, send) : orchestrator.execute(action, config.hosts, { msg, send });
          if (work) return work;
          throw new Error(RED._("ssh-shutdown.errors.busy", { action, max: MAX_SHARED_REQUESTS }));
        })
        .then(() => done(), failWith(done));
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      const closed = orchestrator.close((info) => this.warn(RED._("ssh-shutdown.warn.not-sent-at-close", { host: info.name })));
      // Done only once every in-flight connection is closed.
      closed.then(() => {
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

/**
 * ssh-shutdown: runs the preset's shutdown, cancel or check command on every
 * configured ssh-host at once and sends one result message per host as soon
 * as that host answers. A message may pick an allowed action, never a host
 * or a command. Delayed shutdowns it sent are remembered in node context so
 * that "power restored" (msg.action = "cancel") cancels exactly those.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { ShutdownAction, ShutdownResult } from "../core/contract";
import { PRESETS, isPresetId, presetCommands } from "../core/ssh/presets";
import type { PresetCommands } from "../core/ssh/presets";
import { runAll } from "../core/ssh/runner";
import type { SshTarget } from "../core/ssh/runner";
import {
  cancelTargets,
  failedResult,
  makeResult,
  markCancelled,
  markSent,
  readConfig,
  readPending,
  readRequest,
  statusView,
  summarize,
} from "../core/ssh/shutdown";
import type { Pending, RawShutdownConfig } from "../core/ssh/shutdown";
import { loadContext, persistentStore, saveContext } from "./lib/context-store";
import { failWith } from "./lib/serial-queue";
import { isSshHost } from "./lib/ssh-host-api";
import type { SshHostInfo } from "./lib/ssh-host-api";

interface SshShutdownDef extends NodeDef, RawShutdownConfig {
  store?: string;
}

/** One host of one run. */
interface Job {
  id: string;
  info: SshHostInfo;
  target: SshTarget;
  command: string | null;
  commands: PresetCommands;
  controller: AbortController;
  sent: boolean;
  abortedBy: "cancel" | "close" | null;
}

interface Run {
  action: ShutdownAction;
  jobs: Job[];
  finished: Promise<void>;
}

const PENDING_KEY = "sshShutdownPending";

/** A host id that names no ssh-host: for results that say so. */
const unknownHost = (id: string): SshHostInfo => ({ name: id, address: "", port: 0, username: "" });
const noop = (): void => undefined;

export = function (RED: NodeAPI) {
  function SshShutdown(this: Node, def: SshShutdownDef) {
    RED.nodes.createNode(this, def);
    const { config, problems } = readConfig(def);
    for (const p of problems) this.error(RED._(`ssh-shutdown.errors.${p.key}`, p.params));
    if (problems.length > 0) this.status({ fill: "red", shape: "ring", text: RED._("ssh-shutdown.status.misconfigured") });
    const store = def.store || "";
    const runs = new Set<Run>();

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
    const loaded = loadContext(this, PENDING_KEY, store).then((value) => {
      pending = readPending(value);
    }, contextFailed);
    const savePending = (next: Pending): void => {
      pending = next;
      saveContext(this, PENDING_KEY, Object.keys(next).length ? next : undefined, store).catch(contextFailed);
    };

    const show = (action: ShutdownAction, total: number, ok: number, failed: number, finished: boolean, retrying = 0): void => {
      const v = statusView(action, total, ok, failed, finished, retrying);
      this.status({ fill: v.fill, shape: v.shape, text: RED._(`ssh-shutdown.status.${v.key}`, v.params) });
    };

    const commandOf = (action: ShutdownAction, c: PresetCommands): string | null =>
      action === "cancel" ? c.cancel : action === "check" ? c.check : c.shutdown;

    const emit = (msg: NodeMessageInFlow, send: (m: NodeMessage) => void, result: ShutdownResult, warnOnly = false): void => {
      const out = RED.util.cloneMessage(msg) as NodeMessage & { summary?: string };
      out.payload = result;
      out.topic = result.host;
      out.summary = summarize(result);
      send(out);
      if (result.ok) {
        if (result.action === "shutdown" || result.action === "cancel") this.log(out.summary);
      } else if (warnOnly) this.warn(out.summary);
      else this.error(out.summary, out);
    };

    /** Connect to every host of `ids` at once; one result per host as it comes. */
    const execute = async (action: ShutdownAction, ids: string[], msg: NodeMessageInFlow, send: (m: NodeMessage) => void): Promise<void> => {
      const jobs: Job[] = [];
      let ok = 0;
      let failed = 0;
      const total = ids.length;
      const retrying = new Set<string>();
      const count = (r: ShutdownResult): void => {
        if (r.ok) ok++;
        else failed++;
        show(action, total, ok, failed, ok + failed === total, retrying.size);
      };
      /** A host that cannot even be tried: its result at once. */
      const skip = (info: SshHostInfo, command: string, error: string): void => {
        const r = failedResult(info, action, command, error, Date.now());
        emit(msg, send, r);
        count(r);
      };
      show(action, total, 0, 0, false);
      for (const id of ids) {
        const host = RED.nodes.getNode(id);
        if (!isSshHost(host)) {
          skip(unknownHost(id), "", RED._("ssh-shutdown.errors.no-host", { id }));
          continue;
        }
        const commands = commandsFor(host.sshHost);
        const command = commandOf(action, commands);
        if (action === "cancel" && command === null) {
          skip(host.sshHost, "", RED._("ssh-shutdown.errors.no-cancel"));
          continue;
        }
        let target: SshTarget;
        try {
          target = host.target();
        } catch (err) {
          skip(host.sshHost, command ?? "", err instanceof Error ? err.message : String(err));
          continue;
        }
        jobs.push({ id, info: host.sshHost, target, command, commands, controller: new AbortController(), sent: false, abortedBy: null });
      }

      const all = runAll(
          jobs,
          (job) => ({
            connectTimeoutMs: config.connectTimeoutMs,
            commandTimeoutMs: config.commandTimeoutMs,
            deadlineMs: config.deadlineMs,
            // a check is a test: one attempt per host unless the operator asked for retries
            maxAttempts: action === "check" && !config.checkRetry ? 1 : undefined,
            okExitCodes: action === "cancel" ? job.commands.cancelOkExitCodes : [0],
            signal: job.controller.signal,
            onRetry: () => {
              retrying.add(job.id);
              show(action, total, ok, failed, false, retrying.size);
            },
            onSent: () => {
              job.sent = true;
              // Sent is enough: the host may have scheduled it even if no answer comes back.
              if (action === "shutdown" && job.commands.delayed) {
                savePending(markSent(pending, job.id, job.info.name, Date.now(), job.commands.delayMs));
              }
            },
          }),
          (job, outcome) => {
            retrying.delete(job.id);
            if (action === "cancel" && outcome.ok) savePending(markCancelled(pending, job.id));
            if (job.abortedBy === "close") return; // going away: nobody to tell
            const r = makeResult(job.info, action, job.command ?? "", outcome, Date.now());
            if (job.abortedBy === "cancel") r.error = RED._("ssh-shutdown.errors.stopped-by-cancel");
            try {
              emit(msg, send, r, job.abortedBy === "cancel");
            } catch (err) {
              this.error(err instanceof Error ? err.message : String(err), msg); // e.g. a message that cannot be cloned
            }
            count(r);
          },
        );
      const run: Run = { action, jobs, finished: all.then(noop, noop) };
      runs.add(run);
      try {
        await all;
      } finally {
        runs.delete(run);
      }
    };

    const simulate = (msg: NodeMessageInFlow, send: (m: NodeMessage) => void): void => {
      let ok = 0;
      let failed = 0;
      for (const id of config.hosts) {
        const host = RED.nodes.getNode(id);
        const r = isSshHost(host)
          ? makeResult(host.sshHost, "simulate", commandsFor(host.sshHost).shutdown, null, Date.now())
          : failedResult(unknownHost(id), "simulate", "", RED._("ssh-shutdown.errors.no-host", { id }), Date.now());
        emit(msg, send, r);
        if (r.ok) ok++;
        else failed++;
      }
      show("simulate", config.hosts.length, ok, failed, true);
    };

    const cancel = async (msg: NodeMessageInFlow, send: (m: NodeMessage) => void): Promise<void> => {
      // Power is back: shutdowns still trying to reach their host stop here.
      let stopped = 0;
      for (const r of runs) {
        if (r.action !== "shutdown") continue;
        for (const job of r.jobs) {
          if (!job.sent && !job.controller.signal.aborted) {
            job.abortedBy = "cancel";
            job.controller.abort();
            stopped++;
          }
        }
      }
      const { ids, expired, pending: next } = cancelTargets(pending, config.hosts, Date.now());
      if (ids.length !== Object.keys(pending).length) savePending(next);
      if (ids.length === 0) {
        const key = stopped > 0 ? "stopped-unsent" : "nothing-to-cancel";
        this.status({ fill: "grey", shape: "ring", text: RED._(`ssh-shutdown.status.${key}`, { stopped, expired: expired.length }) });
        return;
      }
      await execute("cancel", ids, msg, send);
    };

    this.on("input", (msg: NodeMessageInFlow, send: (m: NodeMessage) => void, done: (err?: Error) => void) => {
      if (problems.length > 0) {
        this.status({ fill: "red", shape: "ring", text: RED._("ssh-shutdown.status.misconfigured") });
        done(new Error(RED._("ssh-shutdown.errors.misconfigured")));
        return;
      }
      const request = readRequest(msg as Record<string, unknown>, config);
      if (request.ok === "nothing") {
        // power is back, or on: nothing to run, and nothing wrong
        this.status({ fill: "grey", shape: "ring", text: RED._(`ssh-shutdown.status.${request.key}`) });
        if (request.key === "power-on") this.warn(RED._("ssh-shutdown.warn.power-on"));
        done();
        return;
      }
      if (!request.ok) {
        this.status({ fill: "red", shape: "ring", text: RED._("ssh-shutdown.status.refused") });
        done(new Error(RED._(`ssh-shutdown.errors.${request.key}`, request.params)));
        return;
      }
      const action = request.action;
      const work = loaded.then(async () => {
        if (action === "simulate") simulate(msg, send);
        else if (action === "cancel") await cancel(msg, send);
        else await execute(action, config.hosts, msg, send);
      });
      work.then(() => done(), failWith(done));
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      for (const r of runs) {
        for (const job of r.jobs) {
          job.abortedBy ??= "close";
          job.controller.abort();
        }
      }
      // Done only once every in-flight connection is closed.
      Promise.all([...runs].map((r) => r.finished)).then(() => {
        this.status({});
        done();
      });
    });
  }

  RED.nodes.registerType("ssh-shutdown", SshShutdown);

  // The editor shows the exact commands and sudoers line of a preset.
  RED.httpAdmin.get("/ssh-shutdown/preview", RED.auth.needsPermission("ssh-shutdown.read"), (req, res) => {
    const q = req.query as Record<string, unknown>;
    const preset = isPresetId(q.preset) ? q.preset : "linux";
    const username = typeof q.username === "string" && q.username ? q.username.slice(0, 64) : "USER";
    const c = presetCommands(preset, {
      delayMinutes: Number(q.delay) || 0,
      message: typeof q.message === "string" ? q.message : "",
      username,
      custom: { shutdown: String(q.customShutdown ?? ""), cancel: String(q.customCancel ?? ""), check: String(q.customCheck ?? "") },
    });
    res.json({ ...c, supportsDelay: PRESETS[preset].supportsDelay });
  });
};

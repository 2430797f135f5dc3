/**
 * A nut-command in front of nut-sim, for the tests that need a final
 * tracking answer or a upsd without tracking (nut-sim scripts both): the
 * simulator with one UPS on battery and a user who may send instant
 * commands, and the flow (nut-server "srv" → nut-command "cmd" → helper "out").
 */
import nutServerNode from "../../nodes/nut-server";
import nutCommandNode from "../../nodes/nut-command";
import { startNutSim, type NutSim, type NutSimCommandResult } from "../../tools/nut-sim";
import { helper } from "./red-helper";

/** Starts the simulator and loads the flow; `command` is the instant command the node sends. */
export async function loadCommandOnSim(
  command: string,
  opts: { netver?: string; instcmds?: Record<string, NutSimCommandResult>; param?: string } = {},
): Promise<NutSim> {
  const sim = await startNutSim({
    netver: opts.netver,
    users: { admin: { password: "pw", instcmds: true } },
    instcmds: opts.instcmds ?? { [command]: "SUCCESS" },
  });
  sim.addUps("ups1", { "ups.status": "OB DISCHRG" });
  await helper.load(
    [nutServerNode, nutCommandNode],
    [
      { id: "srv", type: "nut-server", host: sim.host, port: sim.port, usetls: false, tls: "", login: "", interval: 5, timeout: 2 },
      {
        id: "cmd",
        type: "nut-command",
        server: "srv",
        ups: "ups1",
        kind: "instcmd",
        command,
        param: opts.param ?? "",
        trackingTimeout: 5,
        hosts: [],
        margin: 0,
        deadline: 60,
        wires: [["out"]],
      },
      { id: "out", type: "helper" },
    ],
    { srv: { username: "admin", password: "pw" } },
  );
  return sim;
}

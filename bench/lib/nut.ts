/** NUT pieces the benchmarks share: a connected client, and the Node-RED nodes that read a lab. */
import { NutClient } from "../../core/nut/client";
import { NUT_LAB_USERS, type NutLab } from "../../test/harness/nut-lab";
import { waitState } from "../../test/harness/nut-client-wait";
import type { Cleanup } from "./cleanup";
import { TAB, type FlowNode } from "./red";

/** A connected client of `lab` (as admin when `admin`), closed by `cleanup`. */
export async function nutClient(cleanup: Cleanup, lab: NutLab, admin = false): Promise<NutClient> {
  const c = new NutClient({
    host: lab.host,
    port: lab.port,
    ...(admin ? { username: NUT_LAB_USERS.admin.username, password: NUT_LAB_USERS.admin.password } : {}),
  });
  cleanup.add(`nut client ${lab.port}`, () => c.close());
  c.start();
  await waitState(c, "connected", 10000);
  return c;
}

/** A nut-server config node for `lab`. */
export function serverNode(id: string, lab: NutLab, interval: number): FlowNode {
  return { id, type: "nut-server", name: `upsd ${lab.port}`, host: lab.host, port: lab.port, usetls: false, tls: "", login: "", interval, timeout: 5 };
}

/** A nut-ups-in node: one UPS (`ups`) or all of the server (`ups` null). */
export function upsInNode(id: string, server: string, ups: string | null, interval: number, wires: string[], output = "change"): FlowNode {
  return {
    id,
    type: "nut-ups-in",
    z: TAB.id,
    name: "",
    server,
    mode: ups === null ? "all" : "one",
    ups: ups ?? "",
    interval,
    // the same rate on battery, as upsmon gets with POLLFREQALERT = POLLFREQ
    alertInterval: interval,
    output,
    vars: false,
    nocomm: 60,
    wires: [wires],
  };
}

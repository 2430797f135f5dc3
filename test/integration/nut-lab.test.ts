import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { NUT_LAB_INSTALL, nutLabMissing, startNutLabs, type NutLabGroup } from "../harness/nut-lab";
import { requireComponent } from "../harness/system";

describe("nut-lab harness: UPSes spread over several upsd", function () {
  this.timeout(60000);
  let group: NutLabGroup | undefined;

  before(async function () {
    requireComponent(this, "NUT upsd and dummy-ups", nutLabMissing(), NUT_LAB_INSTALL);
    group = await startNutLabs({ upses: 5, servers: 2 });
  });
  after(async () => {
    await group?.stop();
  });

  it("shares the UPSes out as evenly as possible, each lab on its own port, every UPS served", async () => {
    const g = group as NutLabGroup;
    assert.deepEqual(g.labs.map((l) => l.upses), [["ups1", "ups2", "ups3"], ["ups1", "ups2"]]);
    assert.notEqual(g.labs[0].port, g.labs[1].port);
    assert.equal(g.upses.length, 5);
    for (const { lab, ups } of g.upses) assert.equal(await lab.getVar(ups, "ups.status"), "OL");
  });

  it("tells each upsd's PID, and stops every process it started", async () => {
    const g = group as NutLabGroup;
    const pids = g.labs.map((l) => l.upsdPid);
    for (const pid of pids) assert.ok(pid && existsSync(`/proc/${pid}`), `upsd ${pid} running`);
    await g.stop();
    group = undefined;
    for (const lab of g.labs) assert.equal(lab.upsdPid, null);
    // gone, or a zombie / reused PID that is no upsd of ours
    for (const pid of pids) assert.ok(!existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("upsd"), `upsd ${pid} stopped`);
  });
});

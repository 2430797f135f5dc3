/**
 * The nut-lab harness itself: real upsd + dummy-ups instances on loopback,
 * UPSes spread over several servers, every process stopped after.
 */
import should from "../harness/should";
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
    should(g.labs.map((l) => l.upses)).eql([
      ["ups1", "ups2", "ups3"],
      ["ups1", "ups2"],
    ]);
    should(g.labs[0].port).not.equal(g.labs[1].port);
    should(g.upses).have.length(5);
    for (const { lab, ups } of g.upses) should(await lab.getVar(ups, "ups.status")).equal("OL");
  });

  it("tells each upsd's PID, and stops every process it started", async () => {
    const g = group as NutLabGroup;
    const pids = g.labs.map((l) => l.upsdPid);
    for (const pid of pids) {
      should(Boolean(pid)).be.true(`upsd ${pid} running`);
      should(existsSync(`/proc/${pid}`)).be.true(`upsd ${pid} running`);
    }
    await g.stop();
    group = undefined;
    for (const lab of g.labs) should(lab.upsdPid).equal(null);
    // gone, or a zombie / reused PID that is no upsd of ours
    for (const pid of pids)
      should(!existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("upsd")).be.true(`upsd ${pid} stopped`);
  });
});

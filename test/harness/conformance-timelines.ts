/**
 * The named timelines of the differential test against upsmon: the faults a
 * real site meets during an outage. Two UPSes of power value 1 and
 * MINSUPPLIES 2 unless said: losing either one makes the shutdown due.
 * Times in seconds (test/harness/conformance.ts SETTINGS: poll 2 s, dead
 * time 10 s, upsd MAXAGE 4 s).
 */
import type { Action, Step, Timeline, UpsSpec } from "./conformance";

const two: UpsSpec[] = [
  { name: "ups1", power: 1 },
  { name: "ups2", power: 1 },
];
const at = (after: number, action: Action): Step => ({ after, action });
const status = (ups: string, s: string): Action => ({ kind: "status", ups, status: s });

export const NAMED: Timeline[] = [
  {
    name: "driver frozen 5 s while on battery: nothing",
    upses: two,
    minSupplies: 2,
    steps: [
      at(2, status("ups1", "OB DISCHRG")),
      at(2, status("ups2", "OB DISCHRG")),
      at(6, { kind: "freeze", ups: "ups1" }),
      at(5, { kind: "thaw", ups: "ups1" }),
    ],
  },
  {
    name: "driver frozen past the dead time while on battery: shutdown",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OB DISCHRG")), at(4, { kind: "freeze", ups: "ups1" }), at(25, { kind: "thaw", ups: "ups1" })],
  },
  {
    // Back well within the dead time, under load too. Our dead time ends exactly 10 s after the last good
    // read (up to one poll before the stop); upsd may take 2 s to serve the drivers' data again on a busy
    // CI machine and our next poll may come 2 s after that: down 3 s is read again at the latest 9 s after
    // that last read. Down 5 s could reach the 10 s boundary, where upsmon, which checks only at its next
    // poll, still says nothing (docs/nodes.md: "The dead time is exact").
    name: "upsd restarted mid-outage, down 3 s: nothing",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OB DISCHRG")), at(2, status("ups2", "OB DISCHRG")), at(6, { kind: "upsd-stop" }), at(3, { kind: "upsd-start" })],
  },
  {
    name: "upsd down past the dead time while on battery: shutdown",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OB DISCHRG")), at(4, { kind: "upsd-stop" }), at(20, { kind: "upsd-start" })],
  },
  {
    name: "upsd down past the dead time on line power: nothing",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OL CHRG")), at(2, { kind: "upsd-stop" }), at(20, { kind: "upsd-start" })],
  },
  {
    name: "driver killed while on battery: shutdown after the dead time",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OB DISCHRG")), at(4, { kind: "kill", ups: "ups1" })],
  },
  {
    name: "OB, then OB LB: shutdown at LB",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OB DISCHRG")), at(6, status("ups1", "OB LB DISCHRG"))],
  },
  {
    name: "OB LB of one UPS when one is enough (MINSUPPLIES 1): nothing",
    upses: two,
    minSupplies: 1,
    steps: [at(2, status("ups1", "OB DISCHRG")), at(4, status("ups1", "OB LB DISCHRG"))],
  },
  {
    name: "runtime calibration draining to LB (OB LB CAL): nothing",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OB CAL DISCHRG")), at(6, status("ups1", "OB LB CAL DISCHRG")), at(6, status("ups1", "OL CHRG"))],
  },
  {
    name: "OFF for 5 s at a self-test: nothing",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OL OFF")), at(5, status("ups1", "OL"))],
  },
  {
    name: "FSD set by a primary: shutdown at once",
    upses: two,
    minSupplies: 2,
    steps: [at(3, { kind: "fsd", ups: "ups1" })],
  },
  {
    name: "flapping power, never low: nothing",
    upses: two,
    minSupplies: 2,
    steps: [2, 2, 3, 2, 3, 2, 2, 3].map((after, i) => at(after, status("ups1", i % 2 === 0 ? "OB DISCHRG" : "OL CHRG"))),
  },
  {
    name: "one UPS never readable (upsmon assumes it on line), the other OB LB: nothing",
    upses: [...two, { name: "ghost", power: 1, ghost: true }],
    minSupplies: 2,
    steps: [at(2, status("ups1", "OB DISCHRG")), at(4, status("ups1", "OB LB DISCHRG"))],
  },
  // Rules newer than Debian 12's upsmon 2.8.0: held to the verdict of upsmon.c 2.8.x when the installed one lacks them.
  {
    name: "OFF longer than OFFDURATION (30 s): shutdown (NUT 2.8.1)",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OL OFF")), at(40, status("ups1", "OL"))],
    since: { version: "2.8.1", due: 34 },
  },
  {
    name: "last seen on BYPASS, then upsd gone: shutdown at once (NUT 2.8.1)",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OL BYPASS")), at(4, { kind: "upsd-stop" }), at(15, { kind: "upsd-start" })],
    since: { version: "2.8.1", due: 7 },
  },
  {
    // frozen, not killed: a killed driver makes upsd answer WAIT for a moment, which upsmon takes for a good read
    // that clears CAL (its verdict then depends on whether a poll lands on it); this package takes WAIT for no data
    name: "calibrating, then driver frozen: shutdown once upsd calls it stale (NUT 2.8.1)",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OB CAL DISCHRG")), at(4, { kind: "freeze", ups: "ups1" }), at(14, { kind: "thaw", ups: "ups1" })],
    since: { version: "2.8.1", due: 11 },
  },
  {
    name: "in ALARM, then driver frozen: shutdown once upsd calls it stale (NUT 2.8.3, ALARMCRITICAL)",
    upses: two,
    minSupplies: 2,
    steps: [at(2, status("ups1", "OL ALARM")), at(4, { kind: "freeze", ups: "ups1" }), at(14, { kind: "thaw", ups: "ups1" })],
    since: { version: "2.8.3", due: 11 },
  },
];

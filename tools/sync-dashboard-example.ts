/**
 * Example 05 is example 01 node for node plus a dashboard page: after a
 * change to 01, this brings 05 in step (test/e2e/examples.test.ts fails until
 * it is). Every node of 01 is copied into 05 as it is in 01, keeping only the
 * wires 05 adds to its own (dashboard) nodes; 05's tab, read-me and
 * dashboard nodes stay; a node removed from 01 leaves 05.
 *
 *   npx tsx tools/sync-dashboard-example.ts
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exampleFiles, examplesDir, loadExample, type FlowNode } from "./example-flow";

/** 01's own label and read-me: 05 has its own. */
const ownTo01 = (n: FlowNode): boolean => n.type === "tab" || (n.type === "comment" && (n.name ?? "").startsWith("Progressive shutdown:"));

export function syncDashboardExample(plan: FlowNode[], dashboard: FlowNode[]): FlowNode[] {
  const planIds = new Map(plan.map((n) => [n.id, n]));
  const dashboardIds = new Set(dashboard.map((n) => n.id));
  /** 05's own nodes: what is not in 01 (tab and read-me included). */
  const own = (id: string): boolean => !planIds.has(id) && dashboardIds.has(id);
  const out: FlowNode[] = [];
  for (const n of dashboard) {
    const p = planIds.get(n.id);
    if (!p) {
      // 05's own (its tab, read-me and dashboard parts), else a node 01 no longer has
      if (ownTo01(n) || dashboardPart(n)) out.push(n);
      continue;
    }
    if (ownTo01(p)) {
      out.push(n);
      continue;
    }
    const wires = p.wires as string[][] | undefined;
    const extra = (n.wires as string[][] | undefined) ?? [];
    out.push(wires ? { ...p, wires: wires.map((w, i) => [...w, ...(extra[i] ?? []).filter(own)]) } : { ...p });
  }
  for (const p of plan) if (!dashboardIds.has(p.id) && !ownTo01(p)) out.push({ ...p });
  return out;
}

/** What only 05 has: the dashboard's nodes, its group, the functions feeding them and its comments. */
function dashboardPart(n: FlowNode): boolean {
  return n.type.startsWith("ui-") || n.type === "group" || n.type === "function" || n.type === "comment";
}

if (require.main === module) {
  const file = exampleFiles().find((f) => f.startsWith("05"));
  if (!file) throw new Error("no example 05");
  const next = syncDashboardExample(loadExample("01"), loadExample("05"));
  writeFileSync(join(examplesDir, file), JSON.stringify(next, null, 2) + "\n");
  console.log(`${file}: ${next.length} nodes, in step with example 01`);
}

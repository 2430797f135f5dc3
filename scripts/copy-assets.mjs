// Node-RED's registry looks for a node's editor HTML beside its JS, and for
// locales/ and icons/ in the folder of the JS: copy them next to dist/nodes/*.js.
// resources/ (the editor code the dialogs share) is not copied: Node-RED serves
// it from the package root, where package.json "files" ships it.
import { cpSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = join(root, "dist", "nodes");
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(root, "nodes"))) {
  if (f.endsWith(".html")) cpSync(join(root, "nodes", f), join(out, f));
}
for (const dir of ["locales", "icons"]) {
  if (existsSync(join(root, dir))) cpSync(join(root, dir), join(out, dir), { recursive: true });
}

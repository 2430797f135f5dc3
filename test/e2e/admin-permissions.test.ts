/**
 * Who may call the package's editor endpoints, in a real Node-RED with admin
 * authentication (docs/threat-model.md): anonymous callers nobody, a
 * read-only user only the command preview, a user who may change flows all
 * of them. (List UPSes: test/integration/nut-editor.test.ts.)
 */
import should from "../harness/should";
import { packageNotBuilt, removeUserDir, startNodeRed, type NodeRedProcess, type NodeRedUser } from "../harness/node-red";
import { runtimeLabel } from "../harness/runtime";
import { freePort, requireComponent } from "../harness/system";

describe(`the package's editor endpoints in a real ${runtimeLabel()} with admin authentication`, function () {
  this.timeout(90_000);
  let nr: NodeRedProcess | undefined;

  before(async function () {
    requireComponent(this, "the built package", packageNotBuilt(), "npm run build");
    nr = await startNodeRed({ adminAuth: true });
  });
  after(async () => {
    if (nr) {
      await nr.stop();
      removeUserDir(nr.userDir);
    }
  });

  it("Fetch fingerprints needs the write permission (401 for anonymous and read-only users); the command preview the read permission", async () => {
    const red = nr as NodeRedProcess;
    const closed = await freePort(); // nothing listens there: an allowed probe answers at once
    const as = async (user: NodeRedUser | null, path: string, body?: object): Promise<number> => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (user) headers.authorization = `Bearer ${await red.token(user)}`;
      const res = await fetch(`${red.url}${path}`, body ? { method: "POST", headers, body: JSON.stringify(body) } : { headers });
      await res.arrayBuffer();
      return res.status;
    };
    const fingerprints = (user: NodeRedUser | null) => as(user, "/ssh-host/fingerprints", { address: "127.0.0.1", port: closed });
    const preview = (user: NodeRedUser | null) => as(user, "/ssh-shutdown/preview?preset=linux&username=nut&delay=2&message=x");
    should({ anonymous: await fingerprints(null), viewer: await fingerprints("viewer"), admin: await fingerprints("admin") }).eql(
      { anonymous: 401, viewer: 401, admin: 502 },
      "the admin's probe ran (nothing listens: 502 connection refused)",
    );
    should({ anonymous: await preview(null), viewer: await preview("viewer"), admin: await preview("admin") }).eql({ anonymous: 401, viewer: 200, admin: 200 });
  });
});

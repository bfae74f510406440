import test from "ava";
import { spawnSync } from "node:child_process";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  Checkout,
  containersLabelled,
  cyberUid,
  deployTest,
  finished,
  inspectContainer,
  requireDeploy,
  SKIP_DEPLOY,
  tail,
} from "../helpers/deploy";

// The README's main command as most operators run Docker: a user in the docker group who is not root and
// cannot write the data root. The engine makes the data folders (owned by the nodes' uid), so neither
// the first `npm run up` nor a node added later needs sudo. The user starts without a Pulumi CLI of
// their own; `npm run up` installs the one this machine's cache holds (scripts/install-pulumi.sh).

requireDeploy();

const USER = "cybernode-op";
const HOME = `/home/${USER}`;
const DATA_ROOT = "/home/cyber/cyberdata";
const NODES = ["fixnode", "btcd", "fixnode2"];
let co: Checkout;

test.before(() => {
  if (SKIP_DEPLOY) return;
  if (process.getuid?.() !== 0)
    throw new Error("the non-root deploy test makes a docker-group user and runs as it: run it as root (bash scripts/test.sh)");
  if (spawnSync("id", [USER]).status !== 0) {
    const made = spawnSync("useradd", ["--create-home", "--groups", "docker", USER], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`useradd ${USER}: ${made.stderr}`);
  }
  rmSync(join(HOME, ".pulumi"), { recursive: true, force: true }); // a user without a CLI of their own
  const taken = NODES.filter((n) => inspectContainer(n) || existsSync(join(DATA_ROOT, n)));
  if (taken.length)
    throw new Error(
      `${taken.join(", ")} exist (containers or folders in ${DATA_ROOT}): the test runs the local stack as typed; remove them first`,
    );
  co = new Checkout();
  spawnSync("chown", ["-R", `${USER}:${USER}`, co.dir]);
});

test.after.always(async () => {
  if (SKIP_DEPLOY || !co) return;
  if (containersLabelled("cybernode.stack=local").length) await asUser("npx pulumi destroy --stack local --yes");
  for (const n of NODES) rmSync(join(DATA_ROOT, n), { recursive: true, force: true });
  co.remove();
});

/** A shell line in the user's checkout, as that user with a login-like environment (no root's variables). */
function asUser(line: string) {
  const env = {
    HOME,
    USER,
    // The Node.js this test runs on (22 or newer: the test command puts it first), then the system's.
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
  };
  const child = co.spawn("runuser", [
    "-u",
    USER,
    "--",
    "env",
    "-i",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    "sh",
    "-c",
    `cd ${co.dir} && ${line}`,
  ]);
  return finished(child, 20 * 60_000, line);
}

deployTest(
  "a docker-group user runs the README's main command, adds a node and destroys: no sudo, data folders owned by the nodes' uid",
  async (t) => {
    t.not(
      spawnSync("runuser", ["-u", USER, "--", "test", "-w", "/home/cyber"]).status,
      0,
      "the user cannot write where the data root goes",
    );
    const stackFile = co.read("stacks/Pulumi.local.yaml");
    const up = await asUser("npm ci --no-audit --no-fund && PULUMI_CONFIG_PASSPHRASE= npm run up");
    t.is(up.code, 0, `${tail(up.stdout)}\n${tail(up.stderr)}`);
    t.regex(up.stderr, /\[up\] no Pulumi CLI in \/home\/cybernode-op\/\.pulumi\/versions\/.* installing the one built in/);
    t.deepEqual(containersLabelled("cybernode.stack=local"), ["btcd", "fixnode"]);
    for (const n of ["fixnode", "btcd"]) t.is(statSync(join(DATA_ROOT, n)).uid, cyberUid(), `${n}'s folder belongs to the nodes' uid`);
    t.is(statSync(join(DATA_ROOT, "btcd", "rpc.conf")).mode & 0o777, 0o600, "btcd's secret file, made by the engine");
    t.is(co.read("stacks/Pulumi.local.yaml"), stackFile, "creating the stack left the tracked stack file as it was");

    // A new node on the existing stack, as the same user.
    const withNode = stackFile.replace("    btcd:\n", "    fixnode2:\n      image: fullnode/fixnode\n      ports: []\n    btcd:\n");
    writeFileSync(join(co.dir, "stacks/Pulumi.local.yaml"), withNode);
    const again = await asUser("PULUMI_CONFIG_PASSPHRASE= npm run up");
    t.is(again.code, 0, `${tail(again.stdout)}\n${tail(again.stderr)}`);
    t.true(inspectContainer("fixnode2").State.Running);
    t.is(statSync(join(DATA_ROOT, "fixnode2")).uid, cyberUid());

    const gone = await asUser("PULUMI_CONFIG_PASSPHRASE= npx pulumi destroy --stack local --yes");
    t.is(gone.code, 0, tail(gone.stdout));
    t.deepEqual(containersLabelled("cybernode.stack=local"), []);
    t.true(existsSync(join(DATA_ROOT, "fixnode2", "fixnode.marker")), "data folders are kept");
  },
);

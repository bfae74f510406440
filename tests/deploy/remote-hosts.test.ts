import test from "ava";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/host";
import { SKIP_PODMAN, startPodmanService, type PodmanHost } from "../helpers/podmanHost";
import { startSshHost, type SshHost } from "../helpers/sshHost";
import {
  Checkout,
  engineEvents,
  containersLabelled,
  cyberUid,
  deployTest,
  inspectContainer,
  now,
  requireDeploy,
  SKIP_DEPLOY,
  tail,
  until,
} from "../helpers/deploy";

// Hosts other than this machine's Docker, through the Docker provider as a stack declares them: an
// ssh:// host (sshd on loopback in front of a second dockerd) and a Podman API socket. Images are built
// here and loaded there; the data folder is made there (through ssh, or on this machine for a socket).
// On each: the node runs as its uid, comes back after kill -9, a no-op is clean, destroy gives it its grace.

requireDeploy();

let co: Checkout;
let ssh: SshHost | undefined;
let podman: PodmanHost | undefined;
const dataRoot = mkdtempSync(join(tmpdir(), "cybernode-deploy-remote-"));
const podmanTest = SKIP_DEPLOY || SKIP_PODMAN ? test.serial.skip : test.serial;

test.before(async () => {
  if (SKIP_DEPLOY) return;
  co = await Checkout.installed();
  co.addFixtureImage("fixr");
  ssh = await startSshHost();
  if (!SKIP_PODMAN) podman = await startPodmanService();
});

test.after.always(async () => {
  if (SKIP_DEPLOY || !co) return;
  for (const [stack, env] of [
    ["sshhost", ssh?.env],
    ["podmanhost", podman?.env],
  ] as const)
    if (env) await co.pulumi(["destroy", "--stack", stack, "--yes"], { PATH: env.PATH });
  await ssh?.stop();
  await podman?.stop();
  co.remove();
  rmSync(dataRoot, { recursive: true, force: true });
});

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0);
/** Real uid of a process on this machine (the remote engines here are local daemons). */
const processUid = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);

/** Up, kill -9, no-op and destroy of one node on `host`; `env` reaches it (DOCKER_HOST for docker, PATH for ssh). */
async function upNoopDestroy(t: import("ava").ExecutionContext, stack: string, host: string, env: NodeJS.ProcessEnv) {
  const node = `${stack}-node`;
  await co.newStack(stack, {
    host,
    uid: String(cyberUid()),
    dataRoot: `${dataRoot}/${stack}`,
    imagesDirs: ["deploy-images"],
    nodes: {
      [node]: {
        image: "fullnode/fixr",
        ports: [`127.0.0.1:${await freePort()}:18545`],
        args: ["--shutdown-delay=2s"],
        memory: "128m",
        cpus: 0.5,
      },
    },
  });
  const pulumiEnv = { PATH: env.PATH };
  const up = await co.pulumi(["up", "--stack", stack, "--yes"], pulumiEnv);
  t.is(up.code, 0, `${tail(up.stdout)}\n${tail(up.stderr)}`);
  const there = { ...env, DOCKER_HOST: env.DOCKER_HOST ?? host };
  const c = inspectContainer(node, there);
  t.truthy(c, `the container runs on ${host}`);
  t.true(c.State.Running);
  t.is(c.Config.User, `${cyberUid()}:${cyberUid()}`);
  t.true(c.HostConfig.ReadonlyRootfs);
  t.is(c.Config.StopTimeout, 20);
  t.is(inspectContainer(node), undefined, "not on this machine's engine");
  t.is(statSync(`${dataRoot}/${stack}/${node}`).uid, cyberUid(), "the data folder is owned by the node's uid");
  await until(`${node} wrote its data folder`, 30_000, () => statSync(`${dataRoot}/${stack}/${node}/fixnode.marker`).isFile());

  const data = `${dataRoot}/${stack}/${node}`;
  t.is(processUid(c.State.Pid), cyberUid(), "the daemon runs as the node's uid");
  t.is(statSync(`${data}/starts.log`).uid, cyberUid(), "and writes its data folder as that uid");

  // kill -9 of the daemon: the engine's restart policy brings it back on the same data.
  process.kill(c.State.Pid, "SIGKILL");
  await until(`${node} restarted on ${host}`, 30_000, () => {
    const now = inspectContainer(node, there);
    return now.State.Running && now.State.Pid !== c.State.Pid;
  });
  await until(`${node} started twice on its data`, 30_000, () => lines(`${data}/starts.log`) === 2);

  const since = now();
  const pv = await co.pulumi(["preview", "--stack", stack, "--expect-no-changes"], pulumiEnv);
  t.is(pv.code, 0, tail(pv.stdout));
  const noop = await co.pulumi(["up", "--stack", stack, "--yes", "--expect-no-changes"], pulumiEnv);
  t.is(noop.code, 0, tail(noop.stdout));
  t.deepEqual(engineEvents(since, now(), [`cybernode.stack=${stack}`], there), [], "the no-op touches no container there");

  const gone = await co.pulumi(["destroy", "--stack", stack, "--yes"], pulumiEnv);
  t.is(gone.code, 0, tail(gone.stdout));
  t.deepEqual(containersLabelled(`cybernode.stack=${stack}`, there), [], "destroyed there");
  t.true(statSync(`${data}/fixnode.marker`).isFile(), "the data folder is kept");
  t.is(lines(`${data}/clean-shutdown`), 1, "destroy gave the daemon its grace: it flushed and wrote its marker");
}

deployTest("an ssh:// host: the node is created there, a no-op is clean, destroy removes it", async (t) => {
  if (!ssh) throw new Error("the ssh test host did not start");
  await upNoopDestroy(t, "sshhost", ssh.host, ssh.env);
});

podmanTest("a Podman socket: the node is created there, a no-op is clean, destroy removes it", async (t) => {
  if (!podman) throw new Error("the Podman service did not start");
  await upNoopDestroy(t, "podmanhost", podman.host, podman.env);
});

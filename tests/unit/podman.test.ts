import test from "ava";
import { defaultUlimits, type EngineFacts, engineChecks } from "../../src/cli/doctorEngine";
import { type DaemonInfo, daemonInfoOf, dockerAdvice, startAdvice } from "../../src/docker/cli";
import { splitTag } from "../../src/docker/commit";
import { sshDialCommand } from "../../src/docker/engineApi";
import { familiarTag } from "../../src/common/registryRef";

// The pure parts of Podman support: telling engines apart, Podman's names for tags, the commit's
// reference split, the ssh command for the API, doctor's checks and the advice errors carry.

test("engines are told apart by what only Podman reports", (t) => {
  const podman = daemonInfoOf({ ServerVersion: "4.3.1", Architecture: "x86_64", BuildahVersion: "1.28.2", Rootless: false });
  t.is(podman?.kind, "podman");
  t.is(podman?.architecture, "amd64");
  t.false(podman?.rootless);
  t.is(daemonInfoOf({ ServerVersion: "4.3.1" }, [{ Name: "Podman Engine" }])?.kind, "podman", "through the CLI: version's components");
  const docker = daemonInfoOf({ ServerVersion: "28.2.2", Architecture: "aarch64", SecurityOptions: ["name=seccomp", "name=selinux"] });
  t.is(docker?.kind, "docker");
  t.is(docker?.architecture, "arm64");
  t.true(docker?.selinux);
  t.true(daemonInfoOf({ ServerVersion: "28.2.2", SecurityOptions: ["name=rootless"] })?.rootless);
  t.true(daemonInfoOf({ ServerVersion: "28.2.2", DriverStatus: [["driver-type", "io.containerd.snapshotter.v1"]] })?.containerdStore);
  t.is(daemonInfoOf({ ServerErrors: ["down"] }), null);
});

test("Podman's stored names compare as the docker CLI shows them", (t) => {
  t.is(familiarTag("localhost/cybernode/fullnode-btcd:latest"), "cybernode/fullnode-btcd:latest");
  t.is(familiarTag("docker.io/cybernode-step/fullnode-fixnode:49b0"), "cybernode-step/fullnode-fixnode:49b0");
  t.is(familiarTag("docker.io/library/debian:bookworm"), "debian:bookworm");
  t.is(familiarTag("localhost:5000/cybernode/x:1"), "localhost:5000/cybernode/x:1", "a registry on localhost keeps its name");
  t.is(familiarTag("registry.example.com/x:1"), "registry.example.com/x:1");
});

test("commit references split at the tag, not at a registry port", (t) => {
  t.deepEqual(splitTag("cybernode-step/fullnode-fixnode:abc"), { repo: "cybernode-step/fullnode-fixnode", tag: "abc" });
  t.deepEqual(splitTag("localhost:5000/x"), { repo: "localhost:5000/x", tag: "latest" });
  t.deepEqual(splitTag("localhost:5000/x:1"), { repo: "localhost:5000/x", tag: "1" });
});

test("the API over ssh runs what the docker CLI runs for an ssh:// host", (t) => {
  t.deepEqual(sshDialCommand("ssh://cyber@node1:2222"), [
    "-o",
    "ConnectTimeout=30",
    "-T",
    "-l",
    "cyber",
    "-p",
    "2222",
    "--",
    "node1",
    "docker",
    "system",
    "dial-stdio",
  ]);
  t.deepEqual(sshDialCommand("ssh://node1"), ["-o", "ConnectTimeout=30", "-T", "--", "node1", "docker", "system", "dial-stdio"]);
  t.is(sshDialCommand("unix:///run/podman/podman.sock"), null);
  t.is(sshDialCommand("tcp://10.0.0.5:2375"), null);
});

const podmanInfo: DaemonInfo = {
  kind: "podman",
  serverVersion: "4.3.1",
  architecture: "amd64",
  containerdStore: false,
  rootless: false,
  selinux: false,
};
const facts = (over: Partial<EngineFacts> = {}): EngineFacts => ({
  info: podmanInfo,
  host: "unix:///run/podman/podman.sock",
  local: true,
  containersConf: [],
  hardLimits: { nofile: 20000, nproc: 96364 },
  restartService: "enabled",
  socketAccess: true,
  ...over,
});
const check = (f: EngineFacts, what: string) => engineChecks(f).find((c) => c.what === what);

test("containers.conf default_ulimits: the last file that sets them wins", (t) => {
  const limits = defaultUlimits([
    '[containers]\ndefault_ulimits = ["nofile=4096:8192"]\n',
    '# drop-in\n[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=512"]\n',
  ]);
  t.deepEqual(limits.get("nofile"), { soft: 1024, hard: 1024 });
  t.deepEqual(limits.get("nproc"), { soft: 512, hard: 512 });
  t.is(defaultUlimits(["[containers]\n# default_ulimits = []\n"]).size, 0, "a commented-out line sets nothing");
});

test("doctor fails a rootful Podman whose default limits exceed the machine's, with the lines to add", (t) => {
  const bad = check(facts(), "ulimits");
  t.false(bad?.ok);
  t.regex(bad?.detail ?? "", /default_ulimits = \["nofile=1024:1024", "nproc=1024:1024"\]/);
  t.regex(bad?.detail ?? "", /nofile 20000/);
  const fixed = check(facts({ containersConf: ['[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]'] }), "ulimits");
  t.true(fixed?.ok);
  t.false(check(facts({ containersConf: ['[containers]\ndefault_ulimits = ["nofile=65536:65536", "nproc=1024:1024"]'] }), "ulimits")?.ok);
  t.true(check(facts({ hardLimits: { nofile: 1 << 21, nproc: 1 << 23 } }), "ulimits")?.ok, "a machine that allows Podman's defaults");
  t.is(check(facts({ local: false, host: "ssh://cyber@node1" }), "ulimits"), undefined, "a remote host's limits are not readable here");
});

test("doctor names the engine, flags rootless Podman, the restart service and socket access", (t) => {
  t.regex(check(facts(), "engine")?.detail ?? "", /^Podman 4\.3\.1 \(amd64\), rootful, via unix:\/\/\/run\/podman\/podman\.sock$/);
  t.false(check(facts({ info: { ...podmanInfo, rootless: true } }), "rootless")?.ok);
  t.is(check(facts(), "rootless"), undefined);
  t.false(check(facts({ restartService: "disabled" }), "restarts")?.ok);
  t.regex(check(facts({ restartService: "disabled" }), "restarts")?.detail ?? "", /systemctl enable podman-restart\.service/);
  const noSystemd = check(facts({ restartService: null }), "restarts");
  t.true(noSystemd?.ok && noSystemd.warn);
  t.false(check(facts({ socketAccess: false }), "socket")?.ok);
  const docker = engineChecks(facts({ info: { ...podmanInfo, kind: "docker", serverVersion: "28.2.2" }, host: "" }));
  t.deepEqual(
    docker.map((c) => c.detail),
    ["Docker 28.2.2 (amd64) via the default context"],
  );
});

test("engine errors we recognise carry what to do", (t) => {
  t.regex(
    dockerAdvice("Error: runc create failed: error setting rlimits for ready process: error setting rlimit type 7", "podman"),
    /default_ulimits/,
  );
  t.regex(dockerAdvice("write /var/lib/docker/x: no space left on device", "docker"), /npx cybernode clean/);
  t.regex(dockerAdvice("dial unix /run/podman/podman.sock: connect: permission denied (podman.sock)", "podman"), /rootless socket/);
  t.regex(
    dockerAdvice("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock", "docker"),
    /usermod -aG docker/,
  );
  t.is(dockerAdvice("Error: No such image: x", "docker"), "");
  t.regex(startAdvice("unix:///run/podman/podman.sock"), /podman system service --time=0 unix:\/\/\/run\/podman\/podman\.sock/);
  t.regex(startAdvice("unix:///var/run/docker.sock"), /systemctl start docker/);
});

import test from "ava";
import { validateSpec } from "../../src/imageSpec/validate";
import { validateStackConfig, type StackContext } from "../../src/stack/config";
import {
  containerSettings,
  engineIgnoredChanges,
  engineSpecificSettings,
  goDuration,
  networkSettings,
  signalNumber,
} from "../../src/program/containerSettings";
import { goodSpec } from "../helpers/specs";

// What each node's docker.Container declares: the rules the README promises for every container.

const ctx: StackContext = {
  stack: "test",
  stackFile: "stacks/Pulumi.test.yaml",
  specs: new Map([["fullnode/node", validateSpec("fullnode/node", goodSpec())]]),
  cyberUid: 1000,
  secretKeys: new Set(),
};
const settingsOf = (node: Record<string, unknown>) => {
  const plan = validateStackConfig({ nodes: { node: { image: "fullnode/node", ...node } } }, ctx);
  return containerSettings(plan.nodes[0], plan);
};

test("hardened by default: read-only root with a tmpfs /tmp, no-new-privileges, every capability dropped, the stack's uid", (t) => {
  const s = settingsOf({});
  t.is(s.user, "1000:1000");
  t.true(s.readOnly);
  t.deepEqual(s.tmpfs, { "/tmp": "rw,nosuid,nodev,size=64m" });
  t.deepEqual(s.securityOpts, ["no-new-privileges:true"]);
  t.deepEqual(s.capabilities, { drops: ["ALL"], adds: [] });
  t.true(s.mustRun);
});

test("each hardening default can be relaxed per node", (t) => {
  const s = settingsOf({ readOnlyRoot: false, noNewPrivileges: false, capDrop: ["NET_RAW"], capAdd: ["CAP_NET_BIND_SERVICE"] });
  t.false(s.readOnly);
  t.is(s.tmpfs, undefined, "no tmpfs when the root is writable");
  t.deepEqual(s.securityOpts, []);
  t.deepEqual(s.capabilities, { drops: ["NET_RAW"], adds: ["NET_BIND_SERVICE"] });
  t.deepEqual(settingsOf({ tmpSize: "16m" }).tmpfs, { "/tmp": "rw,nosuid,nodev,size=16m" });
});

test("the stop grace applies to docker stop and to Pulumi's replace and destroy alike; the signal is the spec's or the node's", (t) => {
  const dflt = settingsOf({});
  t.is(dflt.stopSignal, "SIGTERM");
  t.is(dflt.stopTimeout, 60, "the default grace");
  t.is(dflt.destroyGraceSeconds, 60, "never the provider's default of an immediate SIGKILL");
  const own = settingsOf({ stopSignal: "SIGINT", stopGrace: 900 });
  t.is(own.stopSignal, "SIGINT");
  t.is(own.stopTimeout, 900);
  t.is(own.destroyGraceSeconds, 900);
});

test("limits: memory in MiB with Docker's default swap written out (no update at every preview), CPUs as given; none by default", (t) => {
  const none = settingsOf({});
  t.is(none.memory, undefined);
  t.is(none.memorySwap, undefined);
  t.is(none.cpus, undefined);
  const s = settingsOf({ memory: "4g", cpus: 1.5 });
  t.is(s.memory, 4096);
  t.is(s.memorySwap, 8192);
  t.is(s.cpus, "1.5");
});

test("rotating json-file logs, 50m x 3 unless the node says otherwise", (t) => {
  t.deepEqual([settingsOf({}).logDriver, settingsOf({}).logOpts], ["json-file", { "max-size": "50m", "max-file": "3" }]);
  t.deepEqual(settingsOf({ logs: { maxSize: "10m", maxFiles: 5 } }).logOpts, { "max-size": "10m", "max-file": "5" });
});

test("ports, restart policy, labels and health as the stack declares them", (t) => {
  const s = settingsOf({ ports: ["127.0.0.1:18334:8334", "8333/udp"], restart: "unless-stopped", labels: { team: "ops" } });
  t.deepEqual(s.ports, [
    { internal: 8334, external: 18334, ip: "127.0.0.1", protocol: "tcp" },
    { internal: 8333, external: 8333, ip: "0.0.0.0", protocol: "udp" },
  ]);
  t.is(s.restart, "unless-stopped");
  t.deepEqual(s.labels, [
    { label: "cybernode.node", value: "node" },
    { label: "cybernode.image", value: "fullnode/node" },
    { label: "cybernode.stack", value: "test" },
    { label: "cybernode.network", value: "cybernode-test" },
    { label: "team", value: "ops" },
  ]);
  t.is(settingsOf({}).healthcheck, undefined, "the run image's own check");
  t.deepEqual(settingsOf({ health: false }).healthcheck, { tests: ["NONE"] });
  t.deepEqual(settingsOf({ health: { command: ["/cyberapp/node-cli", "ping"], interval: 10, timeout: 5 } }).healthcheck, {
    tests: ["CMD", "/cyberapp/node-cli", "ping"],
    interval: "10s",
    timeout: "5s",
    startPeriod: "1m0s",
    retries: 3,
  });
});

test("health check times are written as the engine reads them back (Go durations), so previews stay clean", (t) => {
  t.is(goDuration(5), "5s");
  t.is(goDuration(59), "59s");
  t.is(goDuration(60), "1m0s");
  t.is(goDuration(600), "10m0s");
  t.is(goDuration(3723), "1h2m3s");
});

test("the stack's network, the order label and the health wait of a node others start after", (t) => {
  const plan = validateStackConfig(
    {
      nodes: {
        first: { image: "fullnode/node", health: { command: ["/cyberapp/node-cli", "ping"], interval: 10, timeout: 5 } },
        second: { image: "fullnode/node", after: ["first"], ports: [] },
      },
    },
    ctx,
  );
  const [first, second] = ["first", "second"].map((n) => containerSettings(plan.nodes.find((x) => x.name === n)!, plan));
  t.is(first.networkMode, "cybernode-test");
  t.is(second.networkMode, "cybernode-test");
  t.is(first.wait, true, "up waits for it to be healthy before making the nodes after it");
  t.is(first.waitTimeout, 60 + 4 * 15 + 60);
  t.is(second.wait, undefined, "nothing starts after it: not awaited");
  t.deepEqual(
    (second.labels as { label: string; value: string }[]).find((l) => l.label === "cybernode.after"),
    { label: "cybernode.after", value: "first" },
  );
  t.false((first.labels as { label: string }[]).some((l) => l.label === "cybernode.after"));
});

test("on Podman, the settings it reports back its own way are declared that way; Docker gets them as written", (t) => {
  const plan = validateStackConfig({ nodes: { node: { image: "fullnode/node", stopSignal: "SIGINT", tmpSize: "32m" } } }, ctx);
  const node = plan.nodes[0];
  t.deepEqual(engineSpecificSettings(node, "docker"), {
    stopSignal: "SIGINT",
    tmpfs: { "/tmp": "rw,nosuid,nodev,size=32m" },
    logOpts: { "max-size": "50m", "max-file": "3" },
  });
  t.deepEqual(engineSpecificSettings(node, "podman"), {
    stopSignal: "2",
    tmpfs: {
      "/run": "rw,rprivate,nosuid,nodev,tmpcopyup",
      "/tmp": "rw,nosuid,nodev,size=32m,rprivate,tmpcopyup",
      "/var/tmp": "rw,rprivate,nosuid,nodev,tmpcopyup",
    },
    logOpts: undefined,
  });
  const podman = containerSettings(node, plan, "podman");
  t.is(podman.stopSignal, "2");
  t.is(podman.stopTimeout, 60, "the grace is the same on either engine");
  const writable = validateStackConfig({ nodes: { node: { image: "fullnode/node", readOnlyRoot: false } } }, ctx).nodes[0];
  t.is(engineSpecificSettings(writable, "podman").tmpfs, undefined);
});

test("stop signals as Linux numbers", (t) => {
  t.deepEqual(["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGPWR", "SIGRTMIN+3"].map(signalNumber), [
    "15",
    "2",
    "1",
    "3",
    "10",
    "12",
    "28",
    "30",
    "37",
  ]);
  t.throws(() => signalNumber("SIGKILL"));
});

test("the stack's network: named and labelled for the stack; on Podman with the IPAM option Podman reports back", (t) => {
  const plan = validateStackConfig({ nodes: { node: { image: "fullnode/node" } } }, ctx);
  t.deepEqual(networkSettings(plan, "docker"), {
    name: "cybernode-test",
    driver: "bridge",
    labels: [{ label: "cybernode.stack", value: "test" }],
  });
  t.deepEqual(networkSettings(plan, "podman").ipamOptions, { driver: "host-local" });
  t.deepEqual(engineIgnoredChanges("docker"), [], "Docker reports the network mode as declared: diffed");
  t.deepEqual(engineIgnoredChanges("podman"), ["networkMode"], "Podman says bridge for every network");
  t.deepEqual(
    (containerSettings(plan.nodes[0], plan, "podman").labels as { label: string; value: string }[]).find(
      (l) => l.label === "cybernode.network",
    ),
    { label: "cybernode.network", value: "cybernode-test" },
    "a renamed network still replaces the container, through its label",
  );
});

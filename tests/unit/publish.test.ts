import test from "ava";
import { buildHostPublisher } from "../../src/publish/buildHost";
import { destinationFor, publisherFor, runHostOf } from "../../src/publish/publisher";

test("destination: a registry wins, then a target host other than the build host, else the build host", (t) => {
  t.deepEqual(destinationFor({ registry: "registry.example.com:5000/cybernode", targetHost: "ssh://cyber@node1" }), {
    kind: "registry",
    registry: "registry.example.com:5000/cybernode",
  });
  t.deepEqual(destinationFor({ targetHost: "ssh://cyber@node1" }), { kind: "docker-host", host: "ssh://cyber@node1" });
  t.deepEqual(destinationFor({ targetHost: "ssh://cyber@node1", buildHost: "ssh://cyber@node1" }), { kind: "build-host" }, "buildOn: host");
  t.deepEqual(destinationFor({}), { kind: "build-host" });
});

test("the host containers find the image on: the target for docker load, the build host otherwise", (t) => {
  t.is(runHostOf({ kind: "docker-host", host: "ssh://cyber@node1" }), "ssh://cyber@node1");
  t.is(runHostOf({ kind: "registry", registry: "r:5000" }, "tcp://builder:2376"), "tcp://builder:2376");
  t.is(runHostOf({ kind: "build-host" }), "");
});

test("each destination gets its own publisher; the build host sends nothing", async (t) => {
  for (const d of [{ kind: "build-host" }, { kind: "docker-host", host: "ssh://x@y" }, { kind: "registry", registry: "r:5000" }] as const) {
    t.deepEqual((await publisherFor(d)).destination, d);
  }
  const r = await buildHostPublisher({ kind: "build-host" }).publish({
    plan: {} as never,
    imageId: `sha256:${"a".repeat(64)}`,
    tag: "x:y",
  });
  t.deepEqual(r, { pullRef: "", bytesSent: 0 });
});

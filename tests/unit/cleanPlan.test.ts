import test from "ava";
import { inUse, parseStepTag, stepTagsToRemove } from "../../src/cli/cleanPlan";

// What `cybernode clean` removes: everything, one image's step images, or only keys no current plan uses.

const K = (c: string) => c.repeat(64);
const TAGS = [
  `cybernode-step/fullnode-btcd:${K("a")}`,
  `cybernode-step/fullnode-btcd:${K("b")}`,
  `docker.io/cybernode-step/fullnode-lnd:${K("c")}`,
  `cybernode/fullnode-btcd:latest`,
  `cybernode-step/fullnode-btcd:latest`,
];

test("step tags parse, also as Podman names them; run images and other tags do not", (t) => {
  t.deepEqual(parseStepTag(TAGS[0]), { repo: "cybernode-step/fullnode-btcd", key: K("a") });
  t.deepEqual(parseStepTag(TAGS[2]), { repo: "cybernode-step/fullnode-lnd", key: K("c") });
  t.is(parseStepTag(TAGS[3]), null);
  t.is(parseStepTag(TAGS[4]), null);
});

test("no names: every step image; names: only theirs; an image without step images: nothing", (t) => {
  t.deepEqual(stepTagsToRemove(TAGS, []), TAGS.slice(0, 3));
  t.deepEqual(stepTagsToRemove(TAGS, ["fullnode/btcd"]), TAGS.slice(0, 2));
  t.deepEqual(stepTagsToRemove(TAGS, ["fullnode/geth"]), []);
});

test("--stale keeps the keys of the current plans, and everything of an image whose plan is unknown", (t) => {
  const current = new Map([["fullnode/btcd", new Set([K("b")])]]);
  t.deepEqual(stepTagsToRemove(TAGS, ["fullnode/btcd"], current), [TAGS[0]], "btcd's old key goes, its current one stays");
  t.deepEqual(stepTagsToRemove(TAGS, [], current), [TAGS[0]], "lnd's plan is not known: its step images stay");
});

test("a tag a container uses is recognised in docker's and Podman's refusals", (t) => {
  t.true(
    inUse(
      'Error response from daemon: conflict: unable to remove repository reference "x" (must force) - container 1 is using its referenced image 2',
    ),
  );
  t.true(inUse("Error: image used by 3b2: image is in use by a container"));
  t.false(inUse("Error: No such image: x"));
});

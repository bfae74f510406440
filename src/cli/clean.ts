import { docker, runDocker } from "../docker/cli";
import { REMOVE_CONTAINERS } from "../docker/engine";
import { CACHE_VOLUME_PREFIX } from "../builder/runSteps";
import { planBuild } from "../builder/planner";
import { inUse, stepTagsToRemove } from "./cleanPlan";
import { stepRepository } from "../builder/stepKeys";
import { imagesRoot, listSpecNames, loadSpec } from "../imageSpec/load";
import { allowOnly, type ParsedArgs, UsageError } from "./args";

/**
 * Removes what builds leave behind, and nothing another build on the same engine is using: stopped
 * temporary containers, and build-step images (all, or those of the images named; with --stale only the
 * keys the current plans no longer use). Run images (cybernode/*) and running containers are never touched.
 */
export async function cmdClean(args: ParsedArgs): Promise<number> {
  allowOnly(args, ["caches", "stale"], ["images"]);
  const root = imagesRoot(args.options.get("images"));
  const named = args.positional;
  const known = listSpecNames(root);
  const unknown = named.filter((n) => !known.includes(n));
  if (unknown.length)
    throw new UsageError(
      `clean: ${unknown.join(", ")} ${unknown.length === 1 ? "is not an image spec" : "are not image specs"} under ${root} (known: ${known.join(", ") || "none"}); nothing was removed`,
    );
  const notes: string[] = [];
  const stale = args.flags.has("stale");
  // With --stale, each image's current step keys (its plan now: base, steps, inputs, passed-through values).
  let current: Map<string, Set<string>> | undefined;
  if (stale) {
    current = new Map();
    for (const name of named.length ? named : known) {
      try {
        current.set(name, new Set((await planBuild(loadSpec(root, name))).steps.map((s) => s.key)));
      } catch (e) {
        notes.push(`${name}: kept all its step images: its current keys are not known (${(e as Error).message.split("\n")[0]})`);
      }
    }
  }

  // Every temporary container that is not running (state filters differ: Podman has no "dead").
  const stopped = named.length
    ? []
    : (await docker(["ps", "-a", "--filter", "label=cybernode.temp=1", "--format", "{{.ID}} {{.State}}"]))
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter(([id, state]) => id && !/^(running|restarting|paused)$/i.test(state ?? ""))
        .map(([id]) => id);
  if (stopped.length) await docker([...REMOVE_CONTAINERS, ...stopped]);

  const filters = named.length ? named.map((n) => `reference=${stepRepository(n)}`) : ["reference=cybernode-step/*"];
  const listed = new Set<string>();
  for (const f of filters)
    for (const tag of (await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f])).split("\n"))
      if (tag) listed.add(tag);
  const tags = stepTagsToRemove([...listed], named, current);
  const removed: string[] = [];
  const busy: string[] = [];
  // Untag in batches; `docker rmi` of a tag only deletes layers no other image uses. A batch that fails
  // (a build elsewhere runs on one of them) is retried tag by tag, and the tags in use are left.
  for (let i = 0; i < tags.length; i += 50) {
    const batch = tags.slice(i, i + 50);
    if ((await runDocker(["rmi", ...batch])).exitCode === 0) {
      removed.push(...batch);
      continue;
    }
    for (const tag of batch) {
      const r = await runDocker(["rmi", tag]);
      if (r.exitCode === 0 || /no such image/i.test(r.stderr)) removed.push(tag);
      else if (inUse(r.stderr)) busy.push(tag);
      else throw new Error(`docker rmi ${tag}: ${r.stderr.trim()}`);
    }
  }
  let volumes: string[] = [];
  if (args.flags.has("caches")) {
    volumes = (await docker(["volume", "ls", "-q", "--filter", `name=${CACHE_VOLUME_PREFIX}`]))
      .split("\n")
      .filter((v) => v.startsWith(CACHE_VOLUME_PREFIX));
    if (volumes.length) await docker(["volume", "rm", ...volumes]);
  }
  const what = `${stale ? "stale " : ""}build-step image tag(s)${named.length ? ` of ${named.join(", ")}` : ""}`;
  process.stdout.write(
    `removed ${stopped.length} temporary container(s), ${removed.length} ${what}${args.flags.has("caches") ? `, ${volumes.length} cache volume(s)` : ""}\n`,
  );
  if (busy.length) process.stdout.write(`kept ${busy.length} in use by a running container (another build?): ${busy.join(" ")}\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  return 0;
}

import { docker } from "../docker/cli";
import { REMOVE_CONTAINERS } from "../docker/engine";
import { CACHE_VOLUME_PREFIX } from "../build/steps";
import { allowOnly, type ParsedArgs } from "./args";

/** Removes what builds leave behind; run images (cybernode/*) and running containers are never touched. */
export async function cmdClean(args: ParsedArgs): Promise<number> {
  allowOnly(args, ["caches"]);
  // Every temporary container that is not running (state filters differ: Podman has no "dead").
  const stopped = (await docker(["ps", "-a", "--filter", "label=cybernode.temp=1", "--format", "{{.ID}} {{.State}}"]))
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([id, state]) => id && !/^(running|restarting|paused)$/i.test(state ?? ""))
    .map(([id]) => id);
  if (stopped.length) await docker([...REMOVE_CONTAINERS, ...stopped]);
  const steps = (await docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=cybernode-step/*"]))
    .split("\n")
    .filter(Boolean);
  // Untag in batches; `docker rmi` of a tag only deletes layers no other image uses.
  for (let i = 0; i < steps.length; i += 50) await docker(["rmi", ...steps.slice(i, i + 50)]);
  let volumes: string[] = [];
  if (args.flags.has("caches")) {
    volumes = (await docker(["volume", "ls", "-q", "--filter", `name=${CACHE_VOLUME_PREFIX}`]))
      .split("\n")
      .filter((v) => v.startsWith(CACHE_VOLUME_PREFIX));
    if (volumes.length) await docker(["volume", "rm", ...volumes]);
  }
  process.stdout.write(
    `removed ${stopped.length} temporary container(s), ${steps.length} build-step image tag(s)${args.flags.has("caches") ? `, ${volumes.length} cache volume(s)` : ""}\n`,
  );
  return 0;
}

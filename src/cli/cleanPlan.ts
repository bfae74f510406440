import { stepRepository } from "../builder/stepKeys";

/**
 * What `cybernode clean` removes, decided from the engine's listing. Pure: the listing and the current
 * plans are passed in, so the rules (only the named images, stale keys only, in-use tags skipped) are
 * tested without Docker.
 */

/** `cybernode-step/fullnode-btcd:<key>` (or Podman's `docker.io/cybernode-step/…`) → repository and key. */
export function parseStepTag(tag: string): { repo: string; key: string } | null {
  const m = /^(?:[^/]+\.[^/]+\/|localhost\/)?(cybernode-step\/[^:]+):([0-9a-f]+)$/.exec(tag);
  return m ? { repo: m[1], key: m[2] } : null;
}

/**
 * The step-image tags to remove: every one (no images named), or those of the named images; with
 * `current` (image → keys of its current plan), only the stale ones, whose key no current step has.
 */
export function stepTagsToRemove(tags: string[], images: string[], current?: Map<string, Set<string>>): string[] {
  // Which image a repository is: the named ones, else (for --stale) every image with a known plan.
  const repos = new Map((images.length ? images : [...(current?.keys() ?? [])]).map((i) => [stepRepository(i), i]));
  return tags.filter((tag) => {
    const t = parseStepTag(tag);
    if (!t) return false;
    const image = repos.get(t.repo);
    if (images.length && !image) return false;
    if (!current) return true;
    const keys = image ? current.get(image) : undefined;
    return keys !== undefined && !keys.has(t.key);
  });
}

/** Whether `docker rmi` failed because a container uses the image (it is then skipped, not an error). Pure. */
export function inUse(stderr: string): boolean {
  return /conflict|is being used|in use by|image is in use/i.test(stderr);
}

/** `host[:port][/path]`, as docker image references start (no scheme). Pure. */
export const REGISTRY_RE =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** The registry name of a local tag: `<registry>/<repo>:<tag>`. Pure. */
export function registryTag(registry: string, localTag: string): string {
  return `${registry.replace(/\/+$/, "")}/${localTag}`;
}

/**
 * A tag as the docker CLI shows it: Podman stores unqualified names as `localhost/…` (loaded) or
 * `docker.io/…` (committed) and its API returns them so; Docker's API returns them bare. Pure.
 */
export function familiarTag(ref: string): string {
  return ref.replace(/^(?:docker\.io\/library\/|docker\.io\/|localhost\/)/, "");
}

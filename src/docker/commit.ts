import { currentDockerHost, DockerError, daemonInfo, docker, engineLabel } from "./cli";
import { throwIfInterrupted } from "./engine";
import { engineRequest } from "./engineApi";

/** `repo` and `tag` of a `repo:tag` reference (a registry port is not a tag). Pure. */
export function splitTag(ref: string): { repo: string; tag: string } {
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: "latest" };
}

/**
 * `docker commit container ref`, through the Engine API where this machine reaches it (a local socket:
 * no CLI process per step), else the CLI. Podman 4.3's
 * Docker-compatible commit decodes a JSON body the docker CLI never sends, and answers "Decode(): EOF":
 * on Podman the commit always goes to the Engine API with an empty config (`{}`, which both engines read
 * as "keep the container's config"), over the local socket, plain tcp, or ssh (`docker system
 * dial-stdio`, which Podman's `docker` alias serves too). Docker pauses the container during its commit
 * (its default, as the CLI's) unless `pause: false` says nothing else runs in it (the step driver knows):
 * a process a step left running cannot change the files mid-commit.
 */
export async function commitContainer(container: string, ref: string, o: { pause?: boolean } = {}): Promise<void> {
  const info = await daemonInfo();
  const podman = info.kind === "podman";
  throwIfInterrupted();
  const { repo, tag } = splitTag(ref);
  const pause = !podman && o.pause !== false;
  const query = new URLSearchParams({ container, repo, tag, pause: String(pause) });
  const args = ["commit", ...(pause ? [] : ["--pause=false"]), container, ref];
  const answer = await engineRequest("POST", `/commit?${query}`, { body: {}, overSsh: podman, timeoutMs: 600_000 });
  throwIfInterrupted();
  if (!answer && !podman) {
    await docker(args);
    return;
  }
  if (!answer)
    throw new DockerError(
      args,
      null,
      `could not reach ${engineLabel(info)} at ${currentDockerHost() || "the default context"} for a commit with a body ` +
        "(the docker CLI sends none, which Podman 4.3 refuses): use a unix:// or ssh:// host for Podman, or Podman 4.4 or later",
    );
  if (answer.status !== 201 && answer.status !== 200) {
    const message = (answer.body as { message?: string } | string | null) ?? "";
    throw new DockerError(args, answer.status, typeof message === "string" ? message : (message.message ?? JSON.stringify(message)));
  }
}

import { buildImage } from "../builder/builder";
import { imagesRoot, listSpecNames, loadSpec } from "../imageSpec/load";
import { InputError } from "../imageSpec/errors";
import { allowOnly, UsageError, type ParsedArgs } from "./args";

export async function cmdImages(args: ParsedArgs): Promise<number> {
  allowOnly(args, [], ["images"]);
  const root = imagesRoot(args.options.get("images"));
  const names = listSpecNames(root);
  if (names.length === 0) {
    process.stdout.write(`no image specs under ${root}\n`);
    return 0;
  }
  // Every spec is listed; one that fails to load is named with its error, and the exit code is 1.
  let broken = 0;
  for (const n of names) {
    try {
      const { spec } = loadSpec(root, n);
      process.stdout.write(`${n.padEnd(24)} ${spec.container.name.padEnd(10)} ${spec.description}\n`);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      broken++;
      process.stdout.write(`${n.padEnd(24)} (cannot be loaded: the error is on stderr)\n`);
      process.stderr.write(`${e.message}\n`);
    }
  }
  return broken ? 1 : 0;
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

export async function cmdBuild(args: ParsedArgs): Promise<number> {
  allowOnly(args, ["json"], ["images"]);
  if (args.positional.length !== 1) throw new UsageError("build takes exactly one image name, e.g. fullnode/btcd");
  const root = imagesRoot(args.options.get("images"));
  const loaded = loadSpec(root, args.positional[0]);
  const r = await buildImage(loaded);
  if (args.flags.has("json")) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `image    ${r.image}`,
    `id       ${r.imageId}`,
    `version  ${r.version}`,
    `tags     ${r.tags.join(", ")}`,
    `steps    ${r.stepsRun} of ${r.stepsTotal} ran${r.stepSeconds.length ? ` (${r.stepSeconds.map((s) => `${s.toFixed(1)}s`).join(", ")})` : ""}`,
    `bin      ${r.binDir}${r.extracted ? "" : " (unchanged)"}`,
    ...r.manifest.files.map((f) => `  ${f.path.padEnd(40)} ${kib(f.size).padStart(12)}  sha256:${f.sha256.slice(0, 16)}`),
    `took     ${r.seconds.toFixed(2)}s`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

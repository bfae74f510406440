import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileBackendDir, promotionPlan, readStackOutputs, type ExportedImages } from "../stack/promotion";
import { InputError } from "../imageSpec/errors";
import { loadStackPlan } from "./status";
import { allowOnly, UsageError, type ParsedArgs } from "./args";
import { stackFileConfig } from "./statusStackFile";
import { STACK_NAME } from "../stack/configKeys";

const short = (id?: string) => (id ? id.slice(0, 19) : "-");

/** `cybernode promote <from> <to>`: what deploying <from>'s tested images would change on <to>. */
export async function cmdPromote(args: ParsedArgs): Promise<number> {
  allowOnly(args, [], ["state"]);
  if (args.positional.length !== 2) throw new UsageError("promote takes two stacks: npx cybernode promote staging prod");
  const [from, to] = args.positional;
  if (from === to) throw new UsageError(`promote needs two different stacks (got ${from} twice)`);
  for (const s of [from, to]) if (!STACK_NAME.test(s)) throw new UsageError(`'${s}' is not a stack name`);
  const projectDir = resolve(".");
  const stackFile = join(projectDir, "stacks", `Pulumi.${to}.yaml`);
  if (!existsSync(stackFile)) {
    process.stderr.write(
      `cybernode promote: stack ${to} has no stack file stacks/Pulumi.${to}.yaml; create it for the target host first (README: "Stacks: one per cybernode host")\n`,
    );
    return 1;
  }
  const state = args.options.get("state");
  const backend = state ? resolve(state) : fileBackendDir(projectDir);
  const source = readStackOutputs(backend, "cybernode", from);
  if (source === null) {
    process.stderr.write(
      `cybernode promote: stack ${from} has no state in ${backend}; deploy and test it first: npx pulumi up --stack ${from}\n`,
    );
    return 1;
  }
  const images = source.images as ExportedImages | undefined;
  if (!images || typeof images !== "object" || Object.keys(images).length === 0) {
    process.stderr.write(`cybernode promote: stack ${from} exports no images (its last update had no nodes?); nothing to promote\n`);
    return 1;
  }
  const target = (readStackOutputs(backend, "cybernode", to)?.images as ExportedImages | undefined) ?? {};
  // Read as YAML, as Pulumi reads it: a comment is not a setting, a quoted value is one.
  const { raw } = stackFileConfig(readFileSync(stackFile, "utf8"), `stacks/Pulumi.${to}.yaml`);
  const promoteFrom = raw.promoteFrom;
  // Only the images the target builds and runs (its enabled nodes' and cybernode:images), read by the
  // same parser as `pulumi up`: the others are not deployed there. A target that names none yet: all.
  let used: Set<string>;
  try {
    used = new Set(loadStackPlan(projectDir, { stack: to, stacksDir: join(projectDir, "stacks"), json: false }).images);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    process.stderr.write(`cybernode promote: ${e.message}
`);
    return 1;
  }
  const all = promotionPlan(images, target);
  const rows = used.size ? all.filter((r) => used.has(r.image)) : all;
  const unused = all.filter((r) => !rows.includes(r)).map((r) => r.image);
  process.stdout.write(`promote ${from} -> ${to} (state: ${backend})\n`);
  for (const r of rows) {
    const what =
      r.action === "unchanged"
        ? `unchanged      ${short(r.toId)} ${r.toVersion ?? ""}`
        : r.action === "update"
          ? `update         ${short(r.fromId)} ${r.fromVersion ?? ""} -> ${short(r.toId)} ${r.toVersion ?? ""}`
          : r.action === "add"
            ? `add            ${short(r.toId)} ${r.toVersion ?? ""}`
            : `not on ${from}  ${short(r.fromId)} (stays as it is; a node using it would be refused)`;
    process.stdout.write(`  ${r.image.padEnd(24)} ${what}\n`);
  }
  const changes = rows.filter((r) => r.action === "update" || r.action === "add").length;
  process.stdout.write(`${changes} image(s) would change on ${to}.\n`);
  if (unused.length) process.stdout.write(`not used by ${to}'s nodes (left out): ${unused.join(", ")}\n`);
  if (promoteFrom !== from) {
    process.stdout.write(
      `note: stacks/Pulumi.${to}.yaml does not set cybernode:promoteFrom: ${from}; set it so \`pulumi up --stack ${to}\` deploys exactly these images: npx pulumi config set --stack ${to} cybernode:promoteFrom ${from}\n`,
    );
  } else {
    process.stdout.write(`next: npx pulumi preview --stack ${to}   then   npx pulumi up --stack ${to}\n`);
  }
  return 0;
}

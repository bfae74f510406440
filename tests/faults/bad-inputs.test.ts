import test from "ava";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineEvents } from "../helpers/checkout";
import { runCli } from "../helpers/cli";
import { SKIP_DOCKER } from "../helpers/docker";
import { refuseAll, set } from "../helpers/badInputs";

// Fault: malformed input (the cases of tests/helpers/badInputs.ts, whose refusals tests/unit/badInputs.test.ts
// checks) reaches no Docker command: `docker` on PATH is replaced by a recorder while the cases run, and the
// engine's event log must show no builder container of this process in that time.

/** A `docker` that records its arguments and fails, first on PATH while the cases run. */
function recordingDocker(): { dir: string; log: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), "cybernode-fault-nodocker-"));
  const log = join(dir, "calls.log");
  writeFileSync(
    join(dir, "docker"),
    `#!/bin/sh\necho "docker $*" >> '${log}'\necho "cybernode fault test: docker must not be called" >&2\nexit 99\n`,
  );
  chmodSync(join(dir, "docker"), 0o755);
  return { dir, log, env: { PATH: `${dir}:${process.env.PATH}` } };
}
const calls = (log: string) => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []);

test.serial("malformed specs and stack configs are refused before any Docker call", (t) => {
  const shim = recordingDocker();
  const realPath = process.env.PATH;
  const since = Date.now() / 1000;
  process.env.PATH = shim.env.PATH;
  let result: ReturnType<typeof refuseAll>;
  try {
    result = refuseAll();
  } finally {
    process.env.PATH = realPath;
  }
  const until = Date.now() / 1000;
  t.deepEqual(result.accepted, [], "every malformed input is refused");
  t.deepEqual(result.wrong, [], "each with an InputError naming the field");
  t.deepEqual(calls(shim.log), [], "no docker command ran");
  if (!SKIP_DOCKER) {
    // The engine's own record: no builder container of this process was created in that time.
    const mine = engineEvents(since, until, ["cybernode.temp=1"]).filter((e) => e.name.includes(`-${process.pid}-`));
    t.deepEqual(mine, []);
  }
  rmSync(shim.dir, { recursive: true, force: true });
  t.log(
    `bad inputs: ${result.tried} tried, ${result.tried - result.accepted.length} refused; docker commands run: ${calls(shim.log).length}`,
  );
});

test.serial("`cybernode build` of a malformed spec file exits 1 naming the field and never runs docker", async (t) => {
  const shim = recordingDocker();
  const root = mkdtempSync(join(tmpdir(), "cybernode-fault-badspecs-"));
  mkdirSync(join(root, "fullnode"));
  // Plain spec files (no imports), written the way a user might get them wrong.
  const files: [string, unknown, string][] = [
    ["port-string", set("run.ports", ["70000"]), "run.ports[0]"],
    ["steps-string", set("build.steps", "go build ./..."), "build.steps"],
    ["env-list", set("build.env", ["CGO_ENABLED=0"]), "build.env"],
    ["name-number", set("container.name", 8333), "container.name"],
    ["uid-null", set("run.uid", null), "run.uid"],
  ];
  for (const [file, spec] of files)
    writeFileSync(join(root, "fullnode", `${file}.ts`), `export default ${JSON.stringify(spec, null, 2)};\n`);
  try {
    for (const [file, , field] of files) {
      const r = await runCli(["build", `fullnode/${file}`, "--images", root], shim.env);
      t.is(r.code, 1, `${file}: ${r.stderr}`);
      t.true(r.stderr.startsWith(`cybernode build: image fullnode/${file}: `), r.stderr);
      t.true(r.stderr.includes(`${field}:`), `${file}: expected ${field} in ${r.stderr}`);
      t.notRegex(r.stderr, /\n\s+at /, "no stack trace");
    }
    t.deepEqual(calls(shim.log), [], "no docker command ran");
    t.log(
      `CLI: ${files.length} malformed spec files refused with exit 1 and the field named; docker commands run: ${calls(shim.log).length}`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(shim.dir, { recursive: true, force: true });
  }
});

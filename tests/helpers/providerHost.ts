import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResourceOps } from "../../src/provider/types";
import { RESOURCE_TYPES } from "../../src/provider/resourceTypes";

const PROJECT = join(__dirname, "../..");

/** The type token the provider plugin serves `ops` under (they must be one of its resource types). */
function tokenOf(ops: ResourceOps): string {
  const found = Object.entries(RESOURCE_TYPES).find(([, o]) => o === ops);
  if (!found) throw new Error("not one of the provider plugin's resource types (src/provider/resourceTypes.ts)");
  return found[0];
}

/**
 * Runs a script of calls against the provider plugin's resource types in a fresh node process, as the
 * plugin process would run them (its own process, nothing shared with the test): `provider` in the script
 * is the given resource type, or an object of them by the given names. Returns what the script returned,
 * as JSON. The gRPC layer around them is covered by the real-engine tests (tests/engine).
 */
export async function runProviderProcess(
  provider: ResourceOps | Record<string, ResourceOps>,
  script: string,
  input: unknown,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Record<string, unknown>> {
  const single = typeof (provider as ResourceOps).create === "function";
  const tokens = single
    ? tokenOf(provider as ResourceOps)
    : Object.fromEntries(Object.entries(provider as Record<string, ResourceOps>).map(([k, o]) => [k, tokenOf(o)]));
  const dir = mkdtempSync(join(tmpdir(), "cybernode-provider-"));
  writeFileSync(
    join(dir, "run.js"),
    `require(require.resolve("tsx/cjs", { paths: [${JSON.stringify(PROJECT)}] }));
const { RESOURCE_TYPES } = require(${JSON.stringify(join(PROJECT, "src/provider/resourceTypes.ts"))});
const tokens = ${JSON.stringify(tokens)};
const provider = typeof tokens === "string" ? RESOURCE_TYPES[tokens] : Object.fromEntries(Object.entries(tokens).map(([k, t]) => [k, RESOURCE_TYPES[t]]));
const input = JSON.parse(process.argv[2]);
(async () => {
${script}
})().then((r) => process.stdout.write(JSON.stringify(r)), (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`,
  );
  // A clean environment apart from PATH/HOME/Docker: nothing leaks in from the test process.
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/root",
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...extraEnv,
  };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(dir, "run.js"), JSON.stringify(input)],
      { env, cwd: dir, maxBuffer: 16 << 20, timeout: 15 * 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`provider process failed: ${stderr || err.message}`));
        else resolve(JSON.parse(stdout) as Record<string, unknown>);
      },
    );
  });
}

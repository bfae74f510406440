import * as pulumi from "@pulumi/pulumi";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Serializes a dynamic provider exactly as Pulumi does (serializeFunction of `() => provider`) and
 * runs a script of calls against it in a fresh node process, as Pulumi's dynamic provider host would
 * (`require(<text>).handler()`). Returns what the script printed as JSON.
 */
export async function runSerializedProvider(
  provider: pulumi.dynamic.ResourceProvider | Record<string, pulumi.dynamic.ResourceProvider>,
  script: string,
  input: unknown,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Record<string, unknown>> {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
  const dir = mkdtempSync(join(tmpdir(), "cybernode-provider-"));
  writeFileSync(join(dir, "provider.js"), sf.text);
  writeFileSync(
    join(dir, "run.js"),
    `const provider = require("./provider.js").${sf.exportName}();\nconst input = JSON.parse(process.argv[2]);\n(async () => {\n${script}\n})().then((r) => process.stdout.write(JSON.stringify(r)), (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });\n`,
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

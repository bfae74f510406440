import test from "ava";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { requireDocker } from "./docker";
import { pulumiRoot, SKIP_ENGINE } from "./engine";

export * from "./checkout";

/**
 * The deploy tests run the product as a user does: real `pulumi` CLI processes (`npx pulumi …` in a
 * fresh copy of the working tree), the project's Pulumi.yaml and index.ts through Pulumi's Node.js
 * language host, the real Docker provider plugin, state in the copy's own `file://` backend. No
 * Automation API, no mocks. Skipped (and counted) only with CYBERNODE_SKIP_ENGINE=1 or CYBERNODE_SKIP_DOCKER=1.
 */
export const SKIP_DEPLOY = SKIP_ENGINE;
export const deployTest = SKIP_DEPLOY ? test.serial.skip : test.serial;

/** Fails the file's tests at once, with what to do, when the CLI, its language host, the Docker provider or Docker is missing. */
export function requireDeploy(): void {
  test.before(async () => {
    if (SKIP_DEPLOY) return;
    const bin = join(pulumiRoot(), "bin");
    if (!existsSync(join(bin, "pulumi-language-nodejs")))
      throw new Error(
        `the deploy tests run index.ts through Pulumi's Node.js language host, which is not beside the CLI in ${bin}: ` +
          "a normal Pulumi install has it; here run bash ../shared/toolchain/install.sh (scripts/test.sh does), or set CYBERNODE_SKIP_ENGINE=1 to skip them.",
      );
    const plugins = spawnSync(join(bin, "pulumi"), ["plugin", "ls"], { encoding: "utf8" }).stdout ?? "";
    if (!/^docker\s+resource\s+5\.2\.0\s/m.test(plugins))
      throw new Error(
        "the deploy tests need the Docker provider plugin 5.2.0 (@pulumi/docker's) in Pulumi's plugin cache: pulumi plugin install resource docker 5.2.0, " +
          "or bash ../shared/toolchain/install.sh where Pulumi's downloads are out of reach.",
      );
    await requireDocker();
  });
}

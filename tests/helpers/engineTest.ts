import test from "ava";
import { requireDocker } from "./docker";
import { pulumiRoot, SKIP_ENGINE } from "./engine";

/** A serial real-engine test; skipped (and counted) only with CYBERNODE_SKIP_ENGINE=1 or CYBERNODE_SKIP_DOCKER=1. */
export const engineTest = SKIP_ENGINE ? test.serial.skip : test.serial;

/** Fails the file's tests at once, with what to do, when the Pulumi CLI or Docker is missing (unless skipped). */
export function requireEngine(): void {
  test.before(async () => {
    if (SKIP_ENGINE) return;
    pulumiRoot();
    await requireDocker();
  });
}

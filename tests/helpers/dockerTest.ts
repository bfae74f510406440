import test from "ava";
import { SKIP_DOCKER } from "./docker";

/** A serial test that needs Docker; skipped (and counted as skipped) only with CYBERNODE_SKIP_DOCKER=1. */
export const dockerTest = SKIP_DOCKER ? test.serial.skip : test.serial;

import test from "ava";
import { SKIP_ENGINE } from "./engine";

/** A serial real-engine test; skipped (and counted) only with CYBERNODE_SKIP_ENGINE=1 or CYBERNODE_SKIP_DOCKER=1. */
export const engineTest = SKIP_ENGINE ? test.serial.skip : test.serial;

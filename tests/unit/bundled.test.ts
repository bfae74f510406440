import test from "ava";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// bin/bundled.js decides whether the CLI and the providers run the compiled bundle or the sources: a
// bundle older than any source file must never run (an edited or pulled src/ would be shadowed).
const { freshBundle } = require("../../bin/bundled.js") as {
  freshBundle(name: string, root: string, env?: NodeJS.ProcessEnv): string | null;
};

function project(): { root: string; touch: (path: string, secondsAgo: number) => void } {
  const root = mkdtempSync(join(tmpdir(), "cybernode-bundled-"));
  const touch = (path: string, secondsAgo: number) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), "x");
    const t = Date.now() / 1000 - secondsAgo;
    utimesSync(join(root, path), t, t);
  };
  return { root, touch };
}

test("a bundle newer than every source file is used; a source edited after it, deep or not, is not shadowed", (t) => {
  const { root, touch } = project();
  touch("src/cli/main.ts", 100);
  touch("src/build/deep/x.ts", 90);
  touch("dist/cli.js", 50);
  t.is(freshBundle("cli", root, {}), join(root, "dist/cli.js"));
  touch("src/build/deep/x.ts", 10);
  t.is(freshBundle("cli", root, {}), null);
  rmSync(root, { recursive: true, force: true });
});

test("no bundle, another bundle's name, or CYBERNODE_NO_BUNDLE=1: the sources run", (t) => {
  const { root, touch } = project();
  touch("src/a.ts", 100);
  t.is(freshBundle("cli", root, {}), null);
  touch("dist/plugin.js", 10);
  t.is(freshBundle("cli", root, {}), null);
  t.is(freshBundle("plugin", root, {}), join(root, "dist/plugin.js"));
  t.is(freshBundle("plugin", root, { CYBERNODE_NO_BUNDLE: "1" }), null);
  rmSync(root, { recursive: true, force: true });
});

test("a module loaded with its code cache runs once, and the cache is written, reused and replaced when the file changes", (t) => {
  const { requireWithCodeCache } = require("../../bin/bundled.js") as { requireWithCodeCache(file: string): Record<string, unknown> };
  const dir = mkdtempSync(join(tmpdir(), "cybernode-codecache-"));
  const file = join(dir, "m.js");
  writeFileSync(file, "globalThis.cybernodeLoads = (globalThis.cybernodeLoads ?? 0) + 1; exports.answer = () => 42;");
  const first = requireWithCodeCache(file) as { answer(): number };
  t.is(first.answer(), 42);
  const cache = readFileSync(`${file}.cache`);
  t.true(cache.length > 0, "the cache is written beside the file");
  t.is(require(file), first, "require() of the same file gives the same module, not a second run");
  t.is((globalThis as { cybernodeLoads?: number }).cybernodeLoads, 1);
  delete require.cache[file];
  requireWithCodeCache(file);
  t.deepEqual(readFileSync(`${file}.cache`), cache, "a current cache is used, not rewritten");
  writeFileSync(file, "exports.answer = () => 43;");
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  delete require.cache[file];
  t.is((requireWithCodeCache(file) as { answer(): number }).answer(), 43, "an edited file runs its new code");
  t.notDeepEqual(readFileSync(`${file}.cache`), cache, "and its cache is replaced");
  rmSync(dir, { recursive: true, force: true });
});

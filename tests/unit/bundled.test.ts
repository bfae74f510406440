import test from "ava";
import { spawn, spawnSync } from "node:child_process";
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

test("the program's bundle is also stale when index.ts, its entry outside src/, was edited after it", (t) => {
  const { root, touch } = project();
  touch("src/program/program.ts", 100);
  touch("index.ts", 90);
  touch("dist/program.js", 50);
  t.is(freshBundle("program", root, {}), join(root, "dist/program.js"));
  touch("index.ts", 10);
  t.is(freshBundle("program", root, {}), null, "an edited index.ts runs from the sources");
  t.is(freshBundle("cli", root, {}), null, "no cli bundle here");
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
  t.is(freshBundle("plugin", root, { CYBERNODE_NO_BUNDLE: "program,plugin" }), null, "named");
  t.is(freshBundle("plugin", root, { CYBERNODE_NO_BUNDLE: "program" }), join(root, "dist/plugin.js"), "another one named");
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

// The provider plugin opens no TLS connection: Node starts without NODE_EXTRA_CA_CERTS (parsing it costs
// about 90 ms per start), and the value is back in the environment before the plugin runs anything.
const NO_EXTRA_CA = join(__dirname, "../../bin/node-no-extra-ca");
const SEEN_BEFORE_AND_AFTER = `
const env = process.env;
const before = [env.NODE_EXTRA_CA_CERTS, env.CYBERNODE_HELD_NODE_EXTRA_CA_CERTS];
require(${JSON.stringify(join(__dirname, "../../bin/bundled.js"))}).restoreHeldEnv(env);
const child = require("node:child_process").execFileSync("sh", ["-c", 'printf %s "\${NODE_EXTRA_CA_CERTS-unset}"']).toString();
console.log(JSON.stringify({ before, after: [env.NODE_EXTRA_CA_CERTS, env.CYBERNODE_HELD_NODE_EXTRA_CA_CERTS], child }));
`;

function startWithout(env: NodeJS.ProcessEnv): { seen: { before: unknown[]; after: unknown[]; child: string }; stderr: string } {
  const r = spawnSync(NO_EXTRA_CA, ["-e", SEEN_BEFORE_AND_AFTER], { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bin/node-no-extra-ca failed (${r.status}): ${r.stderr}`);
  return { seen: JSON.parse(r.stdout), stderr: r.stderr };
}

test("bin/node-no-extra-ca starts node without NODE_EXTRA_CA_CERTS and restoreHeldEnv puts it back for what the process runs", (t) => {
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = process.env;
  // A file that does not exist: Node warns at start when it reads the variable.
  const set = startWithout({ ...rest, NODE_EXTRA_CA_CERTS: "/nonexistent/cybernode-test-ca.pem" });
  t.notRegex(set.stderr, /extra certs/i, "node did not read the file at start");
  t.deepEqual(set.seen.before, [null, "/nonexistent/cybernode-test-ca.pem"]);
  t.deepEqual(set.seen.after, ["/nonexistent/cybernode-test-ca.pem", null]);
  t.is(set.seen.child, "/nonexistent/cybernode-test-ca.pem", "a program the process runs sees the user's value");

  const unset = startWithout(rest);
  t.deepEqual(unset.seen.after, [null, null]); // JSON: null for unset
  t.is(unset.seen.child, "unset", "an unset variable stays unset");
});

test("the provider plugin starts through bin/node-no-extra-ca: it prints its port and Node never reads NODE_EXTRA_CA_CERTS", async (t) => {
  const plugin = join(__dirname, "../../bin/pulumi-resource-cybernode-images");
  const child = spawn(plugin, ["127.0.0.1:1"], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: "/nonexistent/cybernode-test-ca.pem" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(String(d).trim()));
    child.once("exit", (code) => reject(new Error(`the plugin exited (${code}) before printing its port: ${stderr}`)));
  });
  child.kill();
  t.regex(port, /^\d+$/);
  t.notRegex(stderr, /extra certs/i);
});

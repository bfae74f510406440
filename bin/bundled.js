// Which compiled bundle to run: dist/<name>.js (made by `npm ci` through scripts/bundle.mjs) when it is
// newer than every file under src/, else null and the caller loads the TypeScript sources through tsx.
// An edited or pulled src/ is therefore never shadowed by an old bundle. Plain JavaScript: it runs
// before any loader is registered. CYBERNODE_NO_BUNDLE=1 always uses the sources (or name them: program,cli).
const { readdirSync, readFileSync, renameSync, statSync, writeFileSync } = require("node:fs");
const { dirname, join } = require("node:path");

const ROOT = join(__dirname, "..");

function newerThan(dir, time) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() ? newerThan(p, time) : statSync(p).mtimeMs > time) return true;
  }
  return false;
}

/** Sources a bundle is made from besides src/: the program's entry is the project's index.ts. */
const SOURCES_OUTSIDE_SRC = { program: ["index.ts"] };

function freshBundle(name, root = ROOT, env = process.env) {
  // CYBERNODE_NO_BUNDLE=1: no bundle at all; a comma list (e.g. program,plugin): not those.
  const no = env.CYBERNODE_NO_BUNDLE ?? "";
  if (no === "1" || no.split(",").includes(name)) return null;
  const out = join(root, "dist", `${name}.js`);
  let built;
  try {
    built = statSync(out).mtimeMs;
  } catch {
    return null;
  }
  const outside = (SOURCES_OUTSIDE_SRC[name] ?? []).some((f) => {
    try {
      return statSync(join(root, f)).mtimeMs > built;
    } catch {
      return true;
    }
  });
  return outside || newerThan(join(root, "src"), built) ? null : out;
}

/**
 * require(file) with V8's code cache kept beside it (`<file>.cache`, stamped with the file's mtime and
 * size): a process that starts often (the Pulumi provider plugin, once per engine run) then skips
 * compiling the bundle, about 80 ms of its 300 ms start on a 2-core machine. A missing, stale or rejected
 * cache is written again; a cache that cannot be written (read-only folder) only costs that time.
 */
function requireWithCodeCache(file) {
  const Module = require("node:module");
  const vm = require("node:vm");
  const st = statSync(file);
  const stamp = `${st.mtimeMs}:${st.size}\n`;
  const cacheFile = `${file}.cache`;
  let cached;
  try {
    const buf = readFileSync(cacheFile);
    if (buf.subarray(0, stamp.length).toString() === stamp) cached = buf.subarray(stamp.length);
  } catch {
    // no cache yet
  }
  const script = new vm.Script(Module.wrap(readFileSync(file, "utf8")), { filename: file, cachedData: cached });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dirname(file));
  Module._cache[file] = mod;
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, dirname(file));
  mod.loaded = true;
  if (!cached || script.cachedDataRejected) {
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, Buffer.concat([Buffer.from(stamp), script.createCachedData()]));
      renameSync(tmp, cacheFile);
    } catch {
      // read-only: run without a cache
    }
  }
  return mod.exports;
}

/**
 * Puts back the NODE_EXTRA_CA_CERTS that bin/node-no-extra-ca held aside while Node started, so that the
 * programs this process runs see the user's environment as it was. Mutates `env`.
 */
function restoreHeldEnv(env) {
  const held = env.CYBERNODE_HELD_NODE_EXTRA_CA_CERTS;
  if (held === undefined) return;
  env.NODE_EXTRA_CA_CERTS = held;
  delete env.CYBERNODE_HELD_NODE_EXTRA_CA_CERTS;
}

module.exports = { freshBundle, requireWithCodeCache, restoreHeldEnv };

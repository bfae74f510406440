// Which compiled bundle to run: dist/<name>.js (made by `npm ci` through scripts/bundle.mjs) when it is
// newer than every file under src/, else null and the caller loads the TypeScript sources through tsx.
// An edited or pulled src/ is therefore never shadowed by an old bundle. Plain JavaScript: it runs
// before any loader is registered. CYBERNODE_NO_BUNDLE=1 always uses the sources.
const { readdirSync, statSync } = require("node:fs");
const { join } = require("node:path");

const ROOT = join(__dirname, "..");

function newerThan(dir, time) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() ? newerThan(p, time) : statSync(p).mtimeMs > time) return true;
  }
  return false;
}

function freshBundle(name, root = ROOT, env = process.env) {
  if (env.CYBERNODE_NO_BUNDLE === "1") return null;
  const out = join(root, "dist", `${name}.js`);
  let built;
  try {
    built = statSync(out).mtimeMs;
  } catch {
    return null;
  }
  return newerThan(join(root, "src"), built) ? null : out;
}

module.exports = { freshBundle };

#!/usr/bin/env bash
# Prints the folder of a Node.js 22 or newer for the test command to put first on PATH: the machine's own
# when it is new enough (nothing printed then), else Node 22 from the npm registry's node-linux-<arch>
# package (the registry ships Node binaries; no other download site is needed), kept in the machine's cache.
# Usage: dir=$(bash scripts/install-node.sh) && [[ -n $dir ]] && export PATH="$dir:$PATH"
set -euo pipefail
CACHE=${CYBERNODE_CACHE:-/var/cache/cybernode}
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( major >= 22 )); then exit 0; fi
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "[install-node] Node.js $major is too old and the npm registry has no Node package for $(uname -m): install Node.js 22 or 24" >&2; exit 1 ;;
esac
dir="$CACHE/node-22-$arch"
bin="$dir/node_modules/node-linux-$arch/bin"
if ! [[ -x "$bin/node" ]] || ! "$bin/node" -e 0 2>/dev/null; then
  echo "[install-node] the machine's Node.js is $major; installing Node.js 22 from the npm registry (node-linux-$arch@22) into $dir" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund "node-linux-$arch@22" >&2
fi
echo "[install-node] Node.js $("$bin/node" --version) at $bin" >&2
echo "$bin"

#!/usr/bin/env bash
# Makes sure `npx pulumi` finds a working Pulumi CLI without downloading one.
#
# The npm `pulumi` package (a devDependency) runs $PULUMI_HOME/versions/<its version>/bin/pulumi when
# that file exists and downloads the CLI only when it does not. On hosts that reach a Go module proxy
# but not Pulumi's downloads (air-gapped CI, this project's test machines) this script builds the
# pinned CLI from Go modules and puts it there (a build made once is kept in the machine's cache and
# copied for every further user). It does nothing when a working CLI is already in place. Where
# ../shared/toolchain exists, it then installs the Node.js language host and the Docker provider plugin
# from there for this user (a normal Pulumi install downloads them).
#
# Usage: bash scripts/install-pulumi.sh        (PULUMI_HOME defaults to ~/.pulumi)
# Env:   CYBERNODE_CACHE   where built tools are kept across clones (default /var/cache/cybernode)
#        PULUMI_CLI_VERSION the CLI release to build (default below)
set -euo pipefail
cd "$(dirname "$0")/.."

CLI_VERSION=${PULUMI_CLI_VERSION:-v3.274.1}
# pkg/v3's go.mod replaces this module with a fork; a main module has to repeat that replace.
CLIPBOARD_FORK=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e
CACHE=${CYBERNODE_CACHE:-/var/cache/cybernode}
NPM_VERSION=$(node -p 'require("./node_modules/pulumi/package.json").version' 2>/dev/null) || {
  echo "[install-pulumi] node_modules/pulumi is missing: run npm ci first" >&2
  exit 1
}
TARGET="${PULUMI_HOME:-$HOME/.pulumi}/versions/$NPM_VERSION/bin/pulumi"
BUILT="$CACHE/pulumi-$CLI_VERSION/pulumi"
start=$SECONDS

works() { [[ -x "$1" ]] && "$1" version >/dev/null 2>&1; }

# Pulumi's Node.js language host and Docker provider plugin: Pulumi's own install brings them; these
# machines cannot reach Pulumi's downloads and keep them in ../shared/toolchain (its README). Its
# install.sh puts them beside the CLI and into this user's plugin cache (it only checks when they are
# there); a copy of both goes to the machine's cache beside the built CLI, so that another user (or a
# clone elsewhere, without ../shared) gets them from there as it gets the CLI.
HOST_BIN="$CACHE/pulumi-$CLI_VERSION/pulumi-language-nodejs"
DOCKER_PLUGIN="$CACHE/pulumi-$CLI_VERSION/pulumi-resource-docker-5.2.0"
toolchain() {
  local dir=${CYBERNODE_PULUMI_TOOLCHAIN:-../shared/toolchain} home=${PULUMI_HOME:-$HOME/.pulumi}
  local cli_dir
  cli_dir=$(dirname "$TARGET")
  if [[ -x "$dir/install.sh" ]]; then
    bash "$dir/install.sh" "$cli_dir"
    if [[ -w "$(dirname "$HOST_BIN")" ]]; then
      install -m 0755 "$cli_dir/pulumi-language-nodejs" "$HOST_BIN"
      install -m 0755 "$home/plugins/resource-docker-v5.2.0/pulumi-resource-docker" "$DOCKER_PLUGIN"
    fi
  elif [[ -x "$HOST_BIN" && -x "$DOCKER_PLUGIN" ]]; then
    [[ -x "$cli_dir/pulumi-language-nodejs" ]] || cp "$HOST_BIN" "$cli_dir/pulumi-language-nodejs"
    if ! PULUMI_HOME=$home "$TARGET" plugin ls 2>/dev/null | grep -qE '^docker +resource +5\.2\.0 '; then
      PULUMI_HOME=$home "$TARGET" plugin install resource docker 5.2.0 --file "$DOCKER_PLUGIN" >/dev/null
    fi
    echo "[install-pulumi] the Node.js language host and the Docker provider 5.2.0 are in place (from $(dirname "$HOST_BIN"))"
  else
    echo "[install-pulumi] no $dir/install.sh: pulumi up needs the CLI's Node.js language host and the Docker provider plugin 5.2.0 from elsewhere (Pulumi's own install has them)" >&2
  fi
}

if works "$TARGET"; then
  echo "[install-pulumi] $TARGET is there ($("$TARGET" version)); nothing to do"
  toolchain
  exit 0
fi

if ! works "$BUILT"; then
  command -v go >/dev/null || { echo "[install-pulumi] go is not installed: it builds the Pulumi CLI from Go modules" >&2; exit 1; }
  echo "[install-pulumi] building Pulumi CLI $CLI_VERSION from Go modules into $BUILT (about 6 minutes on 2 cores from cold Go caches)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    cat >go.mod <<EOF
module pulumibuild

go 1.26
EOF
    cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF
    go get "github.com/pulumi/pulumi/pkg/v3@$CLI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$CLI_VERSION"
    go mod edit -replace "github.com/atotto/clipboard=$CLIPBOARD_FORK"
    go mod tidy
    mkdir -p "$(dirname "$BUILT")"
    go build -trimpath -ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$CLI_VERSION" \
      -o "$BUILT.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    mv "$BUILT.partial" "$BUILT"
  )
fi

mkdir -p "$(dirname "$TARGET")"
cp "$BUILT" "$TARGET"
echo "[install-pulumi] installed $("$TARGET" version) as $TARGET (npm pulumi $NPM_VERSION) in $((SECONDS - start))s"
toolchain

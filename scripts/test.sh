#!/usr/bin/env bash
# The test command of the README: on a fresh Debian machine (as root) it installs and starts
# what the tests need, then runs every test and ends with "N passed, N failed[, N skipped]".
# CYBERNODE_SKIP_DOCKER=1 skips the Docker part (and Podman's), CYBERNODE_SKIP_PODMAN=1 the Podman
# tests, CYBERNODE_SKIP_KUBERNETES=1 the Kubernetes tests, CYBERNODE_SKIP_ENGINE=1 the real Pulumi
# engine tests (and the Kubernetes ones); skipped tests are counted and printed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${CYBERNODE_SKIP_DOCKER:-}" != "1" ]]; then
  bash scripts/start-docker.sh
  bash scripts/make-test-bases.sh
  # Podman from Debian, its container limits, the base images in its store (tests/podman starts its API service).
  [[ "${CYBERNODE_SKIP_PODMAN:-}" == "1" ]] || bash scripts/start-podman.sh
fi
# A supported Node.js (22 or 24): the machine's, or Node 22 from the npm registry when the machine's is older.
node_dir=$(bash scripts/install-node.sh)
if [[ -n "$node_dir" ]]; then export PATH="$node_dir:$PATH"; fi
# The user the nodes run as (README "Set-up"), as an operator makes it before the first `npm run up`.
if [[ $(id -u) == 0 ]] && ! id cyber >/dev/null 2>&1; then useradd --create-home cyber; fi
export PULUMI_SKIP_UPDATE_CHECK=true # the CLI's update check asks Pulumi's servers, which are out of reach here
[[ -d node_modules ]] && [[ node_modules/.package-lock.json -nt package-lock.json ]] || npm ci --no-audit --no-fund
# The real Pulumi engine for tests/engine (built from Go modules when no CLI is found; cached).
if [[ "${CYBERNODE_SKIP_ENGINE:-}" != "1" ]]; then
  # With ../shared/toolchain's language host and Docker provider plugin where that folder exists.
  bash scripts/install-pulumi.sh
  # The Kubernetes suite: a single-node cluster's binaries and Pulumi's Kubernetes provider, built from
  # Go modules once and cached in /var/cache/cybernode (tests/kubernetes starts and stops the cluster).
  if [[ "${CYBERNODE_SKIP_KUBERNETES:-}" != "1" && "${CYBERNODE_SKIP_DOCKER:-}" != "1" ]]; then
    bash scripts/install-kubernetes.sh
    bash scripts/install-pulumi-kubernetes.sh
  fi
fi
# The compiled CLI and provider modules, as `npm ci` makes them (tests that start the CLI or Pulumi run them).
npm run --silent bundle
npx tsc --noEmit -p .
# Formatting and lint rules (biome.json); `npm run format` fixes what it can.
npx biome check .
exec node scripts/run-tests.mjs "$@"

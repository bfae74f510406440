#!/usr/bin/env bash
# Make sure a Docker daemon is answering. This machine has no engine by default:
# install Debian's docker.io (20.10) and run dockerd in the background. A newer
# docker CLI (e.g. /usr/local/bin/docker) talks to it fine.
set -euo pipefail

LOG=/tmp/cybernode-dockerd.log

# Packages: the engine, plus what scripts/make-test-bases.sh needs.
pkgs=()
command -v dockerd >/dev/null || pkgs+=(docker.io)
command -v debootstrap >/dev/null || pkgs+=(debootstrap)
[[ -x /bin/busybox ]] || pkgs+=(busybox-static)
# The remote-host tests: an sshd in front of a second dockerd, and a registry on loopback.
[[ -x /usr/sbin/sshd ]] || pkgs+=(openssh-server)
command -v docker-registry >/dev/null || pkgs+=(docker-registry)
if ((${#pkgs[@]})); then
  echo "[start-docker] installing ${pkgs[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}"
fi

if docker info >/dev/null 2>&1; then
  echo "[start-docker] docker is already running"
  exit 0
fi

echo "[start-docker] starting dockerd (log: $LOG)"
nohup dockerd >"$LOG" 2>&1 &
pid=$!

for _ in $(seq 60); do
  if docker info >/dev/null 2>&1; then
    echo "[start-docker] dockerd is up (pid $pid)"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break  # dockerd died: no point waiting
  sleep 1
done

echo "[start-docker] dockerd did not come up (within 60s); log tail:" >&2
tail -n 40 "$LOG" >&2
exit 1

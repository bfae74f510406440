#!/usr/bin/env bash
# Stops the test cluster that scripts/start-kubernetes.sh WORKDIR started and removes every trace of
# it: in order the kubelet, the Pods' containers (and their shims) of the cluster's own containerd,
# that containerd, the PV provisioner loop, kube-scheduler, kube-controller-manager, kube-apiserver and
# etcd last; then it unmounts what is mounted under WORKDIR (the kubelet bind-mounts its root dir onto
# itself, Pod volumes, network namespaces, container root filesystems), removes what the kubelet,
# containerd and CNI wrote outside WORKDIR when this cluster made it (/var/lib/kubelet/device-plugins,
# /var/log/containers links, /var/lib/cni/results entries, /run/containerd/runc/k8s.io, the kubepods
# cgroups), deletes the Pod bridge and the node's interface (veth pair), and removes WORKDIR.
# Processes are ended by their recorded pid (checked to still be this cluster's), never by name; the
# containerd that dockerd uses and Docker's containers are never touched.
# Idempotent: running it again, or on a half-started cluster, is fine.
#
# Usage: bash scripts/stop-kubernetes.sh WORKDIR
set -uo pipefail

log() { echo "[stop-kubernetes] $*"; }

[[ $# -eq 1 && -n $1 ]] || { echo "usage: bash scripts/stop-kubernetes.sh WORKDIR" >&2; exit 2; }
W=$(realpath -m "$1")
[[ $W != / && $W =~ ^/[A-Za-z0-9/._-]+$ ]] || { echo "[stop-kubernetes] refusing WORKDIR $W" >&2; exit 2; }

# Defaults as in start-kubernetes.sh; WORKDIR/env overrides them.
CYBERNODE_K8S_CONTAINERD=$W/containerd/containerd.sock
CYBERNODE_K8S_BRIDGE=cybk8sbr0
CYBERNODE_K8S_NODE_IF=cybk8s0
CYBERNODE_K8S_CNI_NETWORK=cybernode-k8s
if [[ -f $W/env ]]; then
  while IFS='=' read -r key value; do
    [[ $key =~ ^CYBERNODE_K8S_[A-Z_]+$ ]] && printf -v "$key" '%s' "$value"
  done <"$W/env"
fi
SOCK=$CYBERNODE_K8S_CONTAINERD
BRIDGE=$CYBERNODE_K8S_BRIDGE
NODE_IF=$CYBERNODE_K8S_NODE_IF
CNI_NETWORK=$CYBERNODE_K8S_CNI_NETWORK

# The node's interface (a veth pair; deleting one end deletes both) carries the WORKDIR of the cluster that made it as its alias.
node_if_ours() {
  local alias
  ip link show "$NODE_IF" >/dev/null 2>&1 || return 1
  alias=$(ip -o link show "$NODE_IF" | sed -n 's/.*alias \(.*\)$/\1/p')
  [[ -z $alias || $alias == "$W" ]]
}

if [[ ! -d $W ]]; then
  if node_if_ours; then ip link del "$NODE_IF" && log "deleted $NODE_IF"; fi
  if [[ -n $(ip -o link show "$BRIDGE" 2>/dev/null) ]] && ! ip link show "$NODE_IF" >/dev/null 2>&1; then
    ip link del "$BRIDGE" && log "deleted $BRIDGE"
  fi
  log "$W does not exist: nothing else to stop"
  exit 0
fi

# Another cluster's node interface (one cluster runs at a time): then this WORKDIR belongs to a
# cluster that never started or is long gone, and nothing shared (bridge, cgroups, paths outside
# WORKDIR) may be touched; only its own processes are stopped and the folder is removed.
foreign=0
if ip link show "$NODE_IF" >/dev/null 2>&1 && ! node_if_ours; then
  foreign=1
  log "$NODE_IF belongs to another cluster: stopping only what $W recorded"
fi

# ours PID: the process is alive and its command line names WORKDIR (so a reused pid is left alone).
ours() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "$W"; }

# stop NAME [GRACE]: SIGTERM to the recorded pid, SIGKILL after GRACE seconds (default 10).
stop() {
  local name=$1 grace=${2:-10} pid file=$W/pids/$1.pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid"; then
    local t0=$EPOCHREALTIME
    kill -TERM "$pid" 2>/dev/null
    local deadline=$((SECONDS + grace))
    while ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if ours "$pid"; then
      log "$name ($pid) ignored SIGTERM for ${grace}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
      while ours "$pid"; do sleep 0.1; done
    fi
    log "stopped $name ($pid) in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
  fi
  rm -f "$file"
}

ctr_() { timeout 20 ctr --address "$SOCK" -n k8s.io "$@"; }

# 1. kubelet, so that it restarts nothing.
stop kubelet 15

# 2. The Pods' containers: SIGTERM, up to 10 s, SIGKILL, then delete the tasks (unmounts root
#    filesystems, ends the shims). The pause containers go with them.
if [[ -S $SOCK ]] && ctr_ version >/dev/null 2>&1; then
  mapfile -t tasks < <(ctr_ tasks ls -q 2>/dev/null)
  if ((${#tasks[@]})); then
    for t in "${tasks[@]}"; do ctr_ tasks kill -a -s SIGTERM "$t" >/dev/null 2>&1; done
    deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)) && ctr_ tasks ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING" { found = 1 } END { exit !found }'; do
      sleep 0.2
    done
    for t in "${tasks[@]}"; do
      ctr_ tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1
      ctr_ tasks rm -f "$t" >/dev/null 2>&1
    done
    log "ended ${#tasks[@]} container(s)"
  fi
fi

# 3. containerd.
stop containerd 15

# Shims of this containerd still alive (containerd died before its tasks): found by the socket in
# their command line; then any process left in the Pods' cgroups (/kubepods, only when no other
# kubelet runs on this machine).
for proc in /proc/[0-9]*; do
  pid=${proc#/proc/}
  cmd=$(tr '\0' ' ' 2>/dev/null <"$proc/cmdline") || continue
  if [[ $cmd == *containerd-shim* && $cmd == *"-address $SOCK "* ]]; then
    kill -KILL "$pid" 2>/dev/null && log "killed leftover shim $pid"
  fi
done
other_kubelet() { # any kubelet still running on this machine (ours is stopped by now)
  local proc argv0
  for proc in /proc/[0-9]*; do
    IFS= read -r -d '' argv0 2>/dev/null <"$proc/cmdline" || continue
    [[ ${argv0##*/} == kubelet ]] && return 0
  done
  return 1
}
if ((!foreign)) && ! other_kubelet && [[ -d /sys/fs/cgroup/pids/kubepods ]]; then
  for _ in 1 2 3; do
    pids=$(find /sys/fs/cgroup/pids/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null)
    [[ -z $pids ]] && break
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
    log "killed leftover Pod processes: $(echo $pids)"
    sleep 0.5
  done
fi

# 4. The control plane, etcd last.
stop coredns 5
stop provisioner 5
stop kube-scheduler 10
stop kube-controller-manager 10
stop kube-apiserver 15
stop etcd 15

# 5. Unmount everything under WORKDIR, deepest first (the kubelet's root dir is mounted onto itself).
mounts_under() { awk -v w="$1" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo; }
for _ in 1 2 3 4 5; do
  mapfile -t mps < <(mounts_under "$W" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
  ((${#mps[@]})) || break
  for mp in "${mps[@]}"; do umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null; done
  log "unmounted ${#mps[@]} mount(s) under $W"
done

if ((!foreign)); then
  # 6. What the cluster wrote outside WORKDIR, when it made it (WORKDIR/preexisting lists what was there).
  made() { ! grep -qxF -- "$1" "$W/preexisting" 2>/dev/null; }
  [[ -e /var/lib/kubelet/device-plugins ]] && made /var/lib/kubelet/device-plugins && rm -rf /var/lib/kubelet/device-plugins
  if [[ -e /var/lib/kubelet ]] && made /var/lib/kubelet && [[ -z $(mounts_under /var/lib/kubelet) ]]; then
    rm -rf --one-file-system /var/lib/kubelet
  fi
  for dir in /var/log/containers /var/log/pods; do
    [[ -d $dir ]] || continue
    # the kubelet's links to this cluster's Pod logs (dangling once WORKDIR is gone)
    find "$dir" -maxdepth 1 -type l -lname "$W/*" -delete 2>/dev/null
    made "$dir" && rmdir "$dir" 2>/dev/null
  done
  if [[ -d /var/lib/cni ]]; then
    # libcni's result cache: <network>-<sandbox id>-eth0 and, for the same sandboxes, containerd's
    # cni-loopback-<sandbox id>-lo (left when the sandboxes were not stopped through the CRI)
    for f in /var/lib/cni/results/"$CNI_NETWORK"-*; do
      [[ -e $f ]] || continue
      id=${f#/var/lib/cni/results/"$CNI_NETWORK"-}
      rm -f "$f" "/var/lib/cni/results/cni-loopback-${id%-*}-lo"
    done
    rm -rf "/var/lib/cni/networks/$CNI_NETWORK"
    made /var/lib/cni/results && rmdir /var/lib/cni/results 2>/dev/null
    made /var/lib/cni && rmdir /var/lib/cni/networks /var/lib/cni 2>/dev/null
  fi
  if [[ -d /run/containerd/runc/k8s.io ]] && made /run/containerd/runc/k8s.io; then
    rm -rf /run/containerd/runc/k8s.io
    made /run/containerd/runc && rmdir /run/containerd/runc 2>/dev/null
  fi
  # The kubelet's cgroups (cgroupfs driver: /kubepods in every hierarchy), when empty.
  if ! other_kubelet; then
    for ctl in /sys/fs/cgroup/*/; do
      [[ -d ${ctl}kubepods ]] || continue
      find "${ctl}kubepods" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  fi

  # 7. The FORWARD rule for Pod-to-Pod traffic, then the interfaces: veths left on the bridge, the
  #    bridge, the node's interface.
  while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "cybernode-k8s pods" -j ACCEPT 2>/dev/null; do
    log "removed the FORWARD rule for $BRIDGE"
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    for veth in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
      ip link del "$veth" 2>/dev/null
    done
    ip link del "$BRIDGE" && log "deleted $BRIDGE"
  fi
  if node_if_ours; then ip link del "$NODE_IF" && log "deleted $NODE_IF"; fi
fi

# 8. WORKDIR itself, once nothing is mounted under it.
if [[ -n $(mounts_under "$W") ]]; then
  log "ERROR: still mounted under $W, not removing it:" >&2
  mounts_under "$W" >&2
  exit 1
fi
rm -rf --one-file-system "$W"
log "stopped; $W removed"

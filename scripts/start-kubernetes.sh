#!/usr/bin/env bash
# Starts a single-node Kubernetes test cluster on this machine, everything in WORKDIR, and leaves it
# running in the background (stop it with scripts/stop-kubernetes.sh WORKDIR):
#   etcd (Debian's)           127.0.0.1:16379 (peer 16380), data in WORKDIR/etcd
#   kube-apiserver            https://127.0.0.1:16443, bearer-token auth, AlwaysAllow authorization
#   kube-controller-manager   127.0.0.1:16457, no leader election
#   kube-scheduler            127.0.0.1:16459, no leader election
#   containerd (a SEPARATE one: own config, root, state and socket in WORKDIR/containerd; the one
#                dockerd uses is never touched), CRI streaming on 127.0.0.1:16010
#   kubelet                   on the node IP (below) port 16250, healthz 127.0.0.1:16248
#   a PV provisioner loop     for the StorageClass "cybernode-local" (see below)
#   coredns                   the cluster DNS on the node IP port 53 (cluster.local): Pods find each
#                             other's Services by name (headless Services resolve to Pod IPs, which
#                             needs no kube-proxy)
# Ports are fixed, far from every default (2379, 6443, 10250, 10257, 10259, 10010, ...), so the
# cluster never clashes with another Kubernetes or etcd; one cluster runs at a time on a machine.
# Binaries come from scripts/install-kubernetes.sh ($CYBERNODE_CACHE/kubernetes-<version>/).
#
# Node IP: the node gets its own address, 10.245.0.1/32 on an interface "cybk8s0" made here.
# Not 127.0.0.1: the apiserver reaches the kubelet (logs, exec) at the node's InternalIP and refuses
# loopback there, and Pods' network namespaces cannot reach the host's loopback. Not the machine's own
# interface address either: that would put the kubelet's port on the machine's real network and tie
# the cluster to whatever eth0 happens to be. The interface is one end of a veth pair (peer
# "cybk8s0p", both up, neither attached anywhere): these machines' kernels have no "dummy" link type
# ("Unknown device type"); veth is always there (Docker needs it). It is local-only, always the same
# address, carries the WORKDIR as its alias, and is gone after stop.
# Pods: bridge "cybk8sbr0" (10.244.0.1/24 gateway), host-local IPAM 10.244.0.0/24; the host reaches
# Pod IPs directly (no iptables rules needed); there is no kube-proxy. CoreDNS on the node IP serves
# cluster.local, and the kubelet gives it to every Pod as its resolver.
#
# Storage: StorageClass "cybernode-local" (the default class), volumeBindingMode WaitForFirstConsumer,
# provisioner "cybernode.local/hostpath", served by a small loop (WORKDIR/provisioner.sh, polls every
# second): for each Pending claim of that class that the scheduler gave a node it makes a folder
# WORKDIR/volumes/<pv> (mode 0777, so a Pod running as any uid can write even without fsGroup) and a
# `local` PersistentVolume pre-bound to the claim (fsGroup applies to local volumes); when a claim is
# deleted its Released volume and folder are removed. Unlike a fixed pool of pre-made volumes it never
# runs out and never hands a new claim an old claim's data.
#
# Writes WORKDIR/kubeconfig (bearer token, insecure-skip-tls-verify) and WORKDIR/env (KEY=value lines:
# KUBECONFIG, CYBERNODE_K8S_CONTAINERD, CYBERNODE_K8S_NODE, CYBERNODE_K8S_NODE_IP,
# CYBERNODE_K8S_STORAGECLASS, ...), waits for the node to be Ready and the default ServiceAccount to
# exist. Each daemon's pid is in WORKDIR/pids/<name>.pid, its log in WORKDIR/logs/<name>.log.
# Whatever does not come up within CYBERNODE_K8S_TIMEOUT seconds (default 90) fails the script with
# the tail of that daemon's log; then everything started so far is stopped again
# (CYBERNODE_K8S_KEEP_ON_FAILURE=1 keeps it for a look).
#
# Usage: bash scripts/start-kubernetes.sh WORKDIR     (WORKDIR is made when missing; must be empty)
# Env:   CYBERNODE_CACHE, CYBERNODE_K8S_VERSION as for install-kubernetes.sh
#        CYBERNODE_K8S_TIMEOUT, CYBERNODE_K8S_KEEP_ON_FAILURE
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

log() { echo "[start-kubernetes] $*"; }
die() { echo "[start-kubernetes] ERROR: $*" >&2; exit 1; }

[[ $# -eq 1 && -n $1 ]] || die "usage: bash scripts/start-kubernetes.sh WORKDIR"
[[ $(id -u) == 0 ]] || die "must run as root (containerd, kubelet, network interfaces)"
mkdir -p "$1"
W=$(cd "$1" && pwd -P)
[[ $W =~ ^[A-Za-z0-9/._-]+$ ]] || die "WORKDIR path must be plain (letters, digits, / . _ -): $W"
[[ -z $(ls -A "$W") ]] || die "WORKDIR $W is not empty"
((${#W} <= 70)) || die "WORKDIR path is too long for unix sockets (max 70 characters): $W"

K8S_VERSION=${CYBERNODE_K8S_VERSION:-v1.37.2}
CACHE=${CYBERNODE_CACHE:-/var/cache/cybernode}
BIN=$CACHE/kubernetes-$K8S_VERSION
TIMEOUT=${CYBERNODE_K8S_TIMEOUT:-90}
KUBECTL=/usr/bin/kubectl
[[ -x $KUBECTL ]] || KUBECTL=$(command -v kubectl) || die "kubectl is missing"

NODE=cybernode-k8s
NODE_IF=cybk8s0
NODE_IP=10.245.0.1
BRIDGE=cybk8sbr0
CNI_NETWORK=cybernode-k8s
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.0.0.0/24
STORAGECLASS=cybernode-local
PROVISIONER=cybernode.local/hostpath
PAUSE_IMAGE=localhost/cybernode-pause:1
ETCD_PORT=16379
ETCD_PEER_PORT=16380
API_PORT=16443
CM_PORT=16457
SCHED_PORT=16459
KUBELET_PORT=16250
KUBELET_HEALTHZ_PORT=16248
CRI_STREAM_PORT=16010
SOCK=$W/containerd/containerd.sock

for b in kube-apiserver kube-controller-manager kube-scheduler kubelet pause coredns; do
  [[ -x $BIN/$b ]] || die "$BIN/$b is missing: run bash scripts/install-kubernetes.sh"
done
for t in etcd containerd containerd-shim-runc-v2 runc ctr openssl curl ip ss tar sha256sum; do
  command -v "$t" >/dev/null || die "$t is missing: run bash scripts/install-kubernetes.sh"
done

# One cluster at a time: the interfaces and ports are fixed.
if ip link show "$NODE_IF" >/dev/null 2>&1; then
  owner=$(ip -o link show "$NODE_IF" | sed -n 's/.*alias \(.*\)$/\1/p')
  die "interface $NODE_IF exists: a cluster already runs (or was not stopped): bash scripts/stop-kubernetes.sh ${owner:-<its WORKDIR>}"
fi
ip link show "$BRIDGE" >/dev/null 2>&1 && die "interface $BRIDGE exists (a cluster was not stopped?): ip link del $BRIDGE"
for port in $ETCD_PORT $ETCD_PEER_PORT $API_PORT $CM_PORT $SCHED_PORT $KUBELET_HEALTHZ_PORT $CRI_STREAM_PORT; do
  [[ -z $(ss -Hltn "sport = :$port") ]] || die "port $port is in use: $(ss -Hltnp "sport = :$port" | head -1)"
done

mkdir -p "$W"/{pids,logs,pki,etcd,containerd,cni/net.d,cni/ipam,kubelet,kubelet-pki,pod-logs,volumes,pause}
t_start=$SECONDS

# Paths the kubelet, containerd and CNI write outside WORKDIR whatever the flags: remember which
# existed before, so stop-kubernetes.sh removes only what this cluster made.
for p in /var/lib/kubelet /var/lib/kubelet/device-plugins /var/log/containers /var/log/pods /var/lib/cni \
  /var/lib/cni/results /run/containerd/runc /run/containerd/runc/k8s.io; do
  [[ -e $p ]] && echo "$p"
done >"$W/preexisting" || true

# env is written first (stop-kubernetes.sh reads it), completed at the end.
write_env() {
  {
    echo "KUBECONFIG=$W/kubeconfig"
    echo "CYBERNODE_K8S_WORKDIR=$W"
    echo "CYBERNODE_K8S_VERSION=$K8S_VERSION"
    echo "CYBERNODE_K8S_API=https://127.0.0.1:$API_PORT"
    echo "CYBERNODE_K8S_CONTAINERD=$SOCK"
    echo "CYBERNODE_K8S_NODE=$NODE"
    echo "CYBERNODE_K8S_NODE_IP=$NODE_IP"
    echo "CYBERNODE_K8S_STORAGECLASS=$STORAGECLASS"
    echo "CYBERNODE_K8S_PAUSE_IMAGE=$PAUSE_IMAGE"
    echo "CYBERNODE_K8S_POD_CIDR=$POD_CIDR"
    echo "CYBERNODE_K8S_BRIDGE=$BRIDGE"
    echo "CYBERNODE_K8S_NODE_IF=$NODE_IF"
    echo "CYBERNODE_K8S_CNI_NETWORK=$CNI_NETWORK"
    echo "CYBERNODE_K8S_READY=$1"
  } >"$W/env.partial"
  mv "$W/env.partial" "$W/env"
}
write_env 0

failing=""
on_exit() {
  local rc=$?
  ((rc == 0)) && return
  if [[ -n $failing && -f $W/logs/$failing.log ]]; then
    echo "[start-kubernetes] ---- last 40 lines of $W/logs/$failing.log ----" >&2
    tail -n 40 "$W/logs/$failing.log" >&2 || true
    echo "[start-kubernetes] ----" >&2
  fi
  if [[ ${CYBERNODE_K8S_KEEP_ON_FAILURE:-0} == 1 ]]; then
    echo "[start-kubernetes] failed; left running for a look: bash scripts/stop-kubernetes.sh $W" >&2
  else
    echo "[start-kubernetes] failed; stopping what was started" >&2
    bash "$REPO/scripts/stop-kubernetes.sh" "$W" >&2 || true
  fi
}
trap on_exit EXIT

# launch NAME CMD...: runs a daemon detached (own session, no terminal, output to its log).
launch() {
  local name=$1
  shift
  setsid "$@" </dev/null >"$W/logs/$name.log" 2>&1 &
  echo $! >"$W/pids/$name.pid"
}

# wait_for NAME WHAT CHECK...: polls CHECK until it succeeds; fails with NAME's log tail on timeout or
# when NAME's process died.
wait_for() {
  local name=$1 what=$2 deadline=$((SECONDS + TIMEOUT)) pid
  shift 2
  pid=$(cat "$W/pids/$name.pid")
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      failing=$name
      die "$name exited while waiting for $what"
    fi
    if ((SECONDS >= deadline)); then
      failing=$name
      die "$what did not happen within ${TIMEOUT}s"
    fi
    sleep 0.2
  done
  log "$what after $((SECONDS - t_start))s"
}

# --- network: the node's address and the Pods' CNI config -----------------------------------------
ip link add "$NODE_IF" type veth peer name "${NODE_IF}p"
ip link set "$NODE_IF" alias "$W" # tells a later start which WORKDIR to stop
ip addr add "$NODE_IP/32" dev "$NODE_IF"
ip link set "${NODE_IF}p" up
ip link set "$NODE_IF" up
# Docker sets the FORWARD policy to DROP, and with br_netfilter (bridge-nf-call-iptables=1, which
# Docker turns on) traffic from one Pod to another on the bridge passes FORWARD too: let the bridge's
# own traffic through, as a cluster's network plugin does. Removed by stop-kubernetes.sh.
if command -v iptables >/dev/null && iptables -S FORWARD >/dev/null 2>&1; then
  iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "cybernode-k8s pods" -j ACCEPT
fi
cat >"$W/cni/net.d/10-$CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$W/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF

# --- etcd ------------------------------------------------------------------------------------------
launch etcd etcd --name cybernode-k8s --data-dir "$W/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "cybernode-k8s=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
  --snapshot-count 10000 --quota-backend-bytes $((1024 * 1024 * 1024))

# --- containerd (separate instance) ----------------------------------------------------------------
# restrict_oom_score_adj: this machine lacks CAP_SYS_RESOURCE, so runc cannot give the sandbox the
# oom_score_adj -998 the CRI asks for ("can't get final child's PID from pipe: EOF") unless the CRI
# clamps it. runc's state root (Root) and the Pods' network namespaces live in WORKDIR too.
cat >"$W/containerd/config.toml" <<EOF
version = 2
root = "$W/containerd/root"
state = "$W/containerd/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$W/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "$CRI_STREAM_PORT"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$W/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni/net.d"
    max_conf_num = 1
EOF
launch containerd containerd --config "$W/containerd/config.toml" --log-level info

# --- certificates and keys -------------------------------------------------------------------------
# - service-account signing key pair;
# - a small CA whose client certificate the apiserver shows the kubelet (kubelet x509 authentication;
#   authorization by the apiserver, i.e. AlwaysAllow); the apiserver makes its own self-signed serving
#   certificate in pki/apiserver (also the controller-manager's --root-ca-file);
# - one bearer token for everyone (kubectl, the components, the kubelet).
P=$W/pki
(
  cd "$P"
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
    -days 3650 -subj /CN=cybernode-k8s-ca -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout kubelet-client.key \
    -out kubelet-client.csr -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >client.ext
  openssl x509 -req -in kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile client.ext -out kubelet-client.crt 2>/dev/null
  openssl rand -hex 32 >token
  echo "$(cat token),cybernode-admin,cybernode-admin,system:masters" >tokens.csv
  chmod 600 ./*.key token tokens.csv
)
TOKEN=$(cat "$P/token")
cat >"$W/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: cybernode-k8s
    cluster:
      server: https://127.0.0.1:$API_PORT
      insecure-skip-tls-verify: true
users:
  - name: cybernode-admin
    user:
      token: $TOKEN
contexts:
  - name: cybernode-k8s
    context:
      cluster: cybernode-k8s
      user: cybernode-admin
      namespace: default
current-context: cybernode-k8s
EOF
chmod 600 "$W/kubeconfig"
KC=$W/kubeconfig
kubectl() { "$KUBECTL" --kubeconfig "$KC" "$@"; }

# --- pause image, made without a registry ----------------------------------------------------------
# A docker-archive (manifest.json + config + one layer holding /pause) written by hand and imported
# into the separate containerd's k8s.io namespace; Docker is not involved.
(
  cd "$W/pause"
  mkdir rootfs
  cp "$BIN/pause" rootfs/pause
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C rootfs -cf layer.tar pause
  diff_id=$(sha256sum layer.tar | cut -d' ' -f1)
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"cybernode scripts/start-kubernetes.sh"}]}' \
    "$diff_id" >config.json
  config_id=$(sha256sum config.json | cut -d' ' -f1)
  mkdir image
  mv config.json "image/$config_id.json"
  mkdir "image/$diff_id"
  mv layer.tar "image/$diff_id/layer.tar"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config_id" "$PAUSE_IMAGE" "$diff_id" >image/manifest.json
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C image -cf pause.tar .
  rm -rf rootfs image
)

wait_for etcd "etcd is healthy" curl -sf "http://127.0.0.1:$ETCD_PORT/health"

# --- kube-apiserver --------------------------------------------------------------------------------
# Bound to loopback; it advertises the node IP (Endpoints may not hold a loopback address).
mkdir -p "$P/apiserver"
launch kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$API_PORT" --advertise-address="$NODE_IP" \
  --cert-dir="$P/apiserver" \
  --token-auth-file="$P/tokens.csv" \
  --authorization-mode=AlwaysAllow \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --kubelet-client-certificate="$P/kubelet-client.crt" --kubelet-client-key="$P/kubelet-client.key" \
  --allow-privileged=true --profiling=false

wait_for containerd "containerd answers" ctr --address "$SOCK" version
failing=containerd
ctr --address "$SOCK" -n k8s.io images import "$W/pause/pause.tar" >/dev/null
failing=""

wait_for kube-apiserver "kube-apiserver is ready" curl -skf -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$API_PORT/readyz"

# --- controller-manager, scheduler -----------------------------------------------------------------
launch kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
  --bind-address=127.0.0.1 --secure-port="$CM_PORT" \
  --leader-elect=false \
  --root-ca-file="$P/apiserver/apiserver.crt" \
  --service-account-private-key-file="$P/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --cert-dir="$P/controller-manager" --profiling=false
launch kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
  --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" \
  --leader-elect=false \
  --cert-dir="$P/scheduler" --profiling=false

# --- cluster DNS -----------------------------------------------------------------------------------
# Names in the cluster only (no upstream: these machines reach no public resolver); the kubelet points
# every Pod's resolv.conf at it.
cat >"$W/Corefile" <<EOF
cluster.local:53 {
    bind $NODE_IP
    errors
    kubernetes cluster.local {
        kubeconfig $KC
    }
}
EOF
launch coredns "$BIN/coredns" -conf "$W/Corefile"

# --- kubelet ---------------------------------------------------------------------------------------
# cgroup v1 needs failCgroupV1: false; oomScoreAdj 0 (no CAP_SYS_RESOURCE); image GC thresholds
# 100/99 so that imported images (there is no registry to pull them again) are never collected;
# eviction only when the disk is really full (other work shares this machine's disk).
cat >"$W/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://$SOCK
imageServiceEndpoint: unix://$SOCK
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podLogsDir: $W/pod-logs
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $P/ca.crt
authorization:
  mode: Webhook
registerNode: true
serializeImagePulls: false
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
EOF
launch kubelet "$BIN/kubelet" \
  --config="$W/kubelet-config.yaml" \
  --kubeconfig="$KC" \
  --root-dir="$W/kubelet" \
  --cert-dir="$W/kubelet-pki" \
  --hostname-override="$NODE" \
  --node-ip="$NODE_IP"

wait_for kube-controller-manager "kube-controller-manager is healthy" curl -skf "https://127.0.0.1:$CM_PORT/healthz"
wait_for kube-scheduler "kube-scheduler is healthy" curl -skf "https://127.0.0.1:$SCHED_PORT/healthz"
wait_for kubelet "kubelet is healthy" curl -sf "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"

# --- storage ---------------------------------------------------------------------------------------
failing=kube-apiserver
kubectl apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGECLASS
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: $PROVISIONER
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
EOF
failing=""
cat >"$W/provisioner.sh" <<'EOF'
#!/usr/bin/env bash
# Node-local volumes for the StorageClass $STORAGECLASS (written by scripts/start-kubernetes.sh).
set -uo pipefail
kubectl() { "$KUBECTL" --kubeconfig "$KUBECONFIG" --request-timeout=10s "$@"; }
while sleep 1; do
  # Claims the scheduler placed on this node and that have no volume yet.
  kubectl get pvc -A -o jsonpath='{range .items[*]}{.spec.storageClassName}{"|"}{.status.phase}{"|"}{.metadata.namespace}{"|"}{.metadata.name}{"|"}{.metadata.uid}{"|"}{.spec.resources.requests.storage}{"|"}{.metadata.annotations.volume\.kubernetes\.io/selected-node}{"|"}{.spec.volumeName}{"|"}{.spec.accessModes}{"|"}{.spec.volumeMode}{"\n"}{end}' 2>/dev/null |
    while IFS='|' read -r class phase ns name uid size selected volume modes vmode; do
      [[ $class == "$STORAGECLASS" && $phase == Pending && $selected == "$NODE" && -z $volume ]] || continue
      [[ ${vmode:-Filesystem} == Filesystem ]] || continue # a folder cannot be a block device
      pv=pvc-$uid
      [[ -d $VOLUMES/$pv ]] && continue
      mkdir -m 0777 "$VOLUMES/$pv" && chmod 0777 "$VOLUMES/$pv"
      if kubectl create -f - >/dev/null <<PV; then echo "$(date -Is) made $pv for $ns/$name ($size)"; else rmdir "$VOLUMES/$pv"; fi
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $pv
  annotations:
    pv.kubernetes.io/provisioned-by: $PROVISIONER
spec:
  capacity:
    storage: $size
  accessModes: ${modes:-[ReadWriteOnce]}
  persistentVolumeReclaimPolicy: Delete
  storageClassName: $STORAGECLASS
  volumeMode: Filesystem
  claimRef:
    namespace: $ns
    name: $name
    uid: $uid
  local:
    path: $VOLUMES/$pv
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions:
            - key: kubernetes.io/hostname
              operator: In
              values: [$NODE]
PV
    done
  # Volumes whose claim is gone.
  kubectl get pv -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.status.phase}{"|"}{.metadata.annotations.pv\.kubernetes\.io/provisioned-by}{"\n"}{end}' 2>/dev/null |
    while IFS='|' read -r pv phase by; do
      [[ $by == "$PROVISIONER" && ($phase == Released || $phase == Failed) ]] || continue
      rm -rf "${VOLUMES:?}/$pv" && kubectl delete pv "$pv" --wait=false >/dev/null && echo "$(date -Is) removed $pv"
    done
done
EOF
launch provisioner env KUBECTL="$KUBECTL" KUBECONFIG="$KC" STORAGECLASS="$STORAGECLASS" PROVISIONER="$PROVISIONER" \
  NODE="$NODE" VOLUMES="$W/volumes" bash "$W/provisioner.sh"

# --- wait for the node ------------------------------------------------------------------------------
node_ready() {
  [[ $(kubectl get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
wait_for kubelet "node $NODE is Ready" node_ready
wait_for kube-controller-manager "the default ServiceAccount exists" kubectl get serviceaccount default -n default

write_env 1
trap - EXIT
log "cluster is up in $((SECONDS - t_start))s: KUBECONFIG=$KC (env: $W/env, stop: bash scripts/stop-kubernetes.sh $W)"

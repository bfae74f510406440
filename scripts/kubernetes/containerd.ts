// A SEPARATE containerd: own config, root, state and socket in WORKDIR/containerd (the one dockerd
// uses is never touched); CRI streaming on 127.0.0.1:16010.
// restrict_oom_score_adj: this machine lacks CAP_SYS_RESOURCE, so runc cannot give the sandbox the
// oom_score_adj -998 the CRI asks for ("can't get final child's PID from pipe: EOF") unless the CRI
// clamps it. runc's state root (Root) and the Pods' network namespaces live in WORKDIR too.
import { join } from "node:path";
import type { Cluster } from "./settings";

export function containerdConfigPath(c: Cluster): string {
  return join(c.workdir, "containerd", "config.toml");
}

export function containerdConfig(c: Cluster): string {
  const d = join(c.workdir, "containerd");
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${d}/root"
state = "${d}/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${c.sock}"
[ttrpc]
  address = "${c.sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/opt"
[${cri}]
  sandbox_image = "${c.pauseImage}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "${c.ports.criStream}"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${c.workdir}/runc"
  [${cri}.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${c.workdir}/cni/net.d"
    max_conf_num = 1
`;
}

export function containerdCommand(c: Cluster): string[] {
  return ["containerd", "--config", containerdConfigPath(c), "--log-level", "info"];
}

/** ctr against the cluster's containerd, in the namespace the CRI uses. */
export function ctrArgs(c: Cluster): string[] {
  return ["ctr", "--address", c.sock, "-n", "k8s.io"];
}

import { defineImage } from "../../src/imageSpec/define";
import { debianPackage } from "../../src/imageSpec/recipes";

/** Upstream release Debian bookworm ships; the build fails if the archive moves to another one. */
const UPSTREAM = "0.18.0.0";

/** monerod is its own RPC client: `monerod print_height` asks the daemon at --rpc-bind-port, pinned to 18081. */
const PRINT_HEIGHT = ["/cyberapp/monerod", "--rpc-bind-port=18081", "print_height"];

/** monerod (Monero daemon) from Debian bookworm's `monero` package, run in scratch with its shared libraries bundled. */
export default defineImage({
  description: `monerod ${UPSTREAM} (Monero daemon), from Debian bookworm's package`,
  // "monerod 0.18.0.0+~0+20200826-1+deb12u1": the Debian version of the `monero` source package.
  build: debianPackage({
    packages: ["monero"],
    binaries: ["/usr/bin/monerod"],
    version: { package: "monero", upstream: UPSTREAM, name: "monerod" },
  }),
  run: {
    entrypoint: ["/cyberapp/monerod", "--data-dir=/cyberdata", "--non-interactive"],
    ports: [18080, 18081],
    bundleLibs: true,
    source: "https://github.com/monero-project/monero",
    revision: `v${UPSTREAM}`,
    health: { command: PRINT_HEIGHT, interval: 60, timeout: 15, retries: 3, startPeriod: 600 },
  },
  container: {
    name: "monerod",
    restart: "always",
    ports: [{ port: 18080 }, { port: 18081, bind: "127.0.0.1" }],
    // monerod answers RPC on the container's own loopback by default, which the published port
    // cannot reach; the host publishes 18081 on 127.0.0.1 only. No UPnP port mapping from inside a
    // container. (monerod refuses an option given twice, so a stack cannot repeat these.)
    args: ["--rpc-bind-ip=0.0.0.0", "--rpc-bind-port=18081", "--confirm-external-bind", "--no-igd"],
    // monerod stores the blockchain on exit (LMDB sync); on a slow disk that takes minutes.
    stopSignal: "SIGTERM",
    stopGrace: 600,
    status: { rpcPort: 18081, height: PRINT_HEIGHT },
  },
});

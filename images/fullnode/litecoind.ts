import { defineImage } from "../../src/imageSpec/define";
import { debianPackage } from "../../src/imageSpec/recipes";

/** Upstream release Debian bookworm ships; the build fails if the archive moves to another one. */
const UPSTREAM = "0.21.2.1";

/**
 * litecoin-cli with the cookie litecoind writes at start (-rpccookiefile, the same path on every network)
 * and the RPC port pinned to 9332, so one command works on mainnet, testnet and regtest.
 */
const CLI = ["/cyberapp/litecoin-cli", "-datadir=/cyberdata", "-rpcport=9332", "-rpccookiefile=/cyberdata/.cookie", "getblockcount"];

/**
 * litecoind (Litecoin Core) and litecoin-cli from Debian bookworm's `litecoind` package, run in scratch
 * with their shared libraries bundled.
 *
 * Debian's /usr/bin/litecoind is a shell wrapper (it writes ~/.litecoin/litecoin.conf with perl, then
 * execs the real program), so the ELF binary is taken from /usr/lib/litecoin/litecoind.
 */
export default defineImage({
  description: `litecoind ${UPSTREAM} (Litecoin Core) and litecoin-cli, from Debian bookworm's package`,
  // "litecoind 0.21.2.1-1+b1": the Debian package version (upstream release and Debian revision). No apt
  // cache volume: the .debs come from the mirror in about a second.
  build: debianPackage({
    packages: ["litecoind"],
    binaries: ["/usr/lib/litecoin/litecoind", "/usr/bin/litecoin-cli"],
    version: { package: "litecoind", upstream: UPSTREAM },
  }),
  run: {
    entrypoint: ["/cyberapp/litecoind", "-datadir=/cyberdata", "-printtoconsole"],
    ports: [9333, 9332],
    bundleLibs: true,
    source: "https://github.com/litecoin-project/litecoin",
    revision: `v${UPSTREAM}`,
    // getblockcount fails with "Loading block index" (-28) at start: the start period covers that.
    health: { command: CLI, interval: 60, timeout: 10, retries: 3, startPeriod: 900 },
  },
  container: {
    name: "litecoind",
    restart: "always",
    ports: [{ port: 9333 }, { port: 9332, bind: "127.0.0.1" }],
    // litecoind answers RPC on the container's own loopback unless told otherwise, which the
    // published port cannot reach. Listen on all container addresses instead: the host publishes
    // 9332 on 127.0.0.1 only, and every call still needs the cookie (/cyberdata/.cookie) or the
    // -rpcuser/-rpcauth a stack adds.
    args: ["-rpcbind=0.0.0.0", "-rpcallowip=0.0.0.0/0", "-rpcport=9332", "-rpccookiefile=/cyberdata/.cookie"],
    // Litecoin Core flushes the chainstate on SIGTERM; Bitcoin Core's own service file allows 10 minutes.
    stopSignal: "SIGTERM",
    stopGrace: 600,
    status: { rpcPort: 9332, height: CLI },
  },
});

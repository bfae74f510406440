import type { ImageSpec } from "../../src/imageSpec/types";

/** A valid spec to derive bad ones from. */
export function goodSpec(): ImageSpec {
  return {
    description: "test",
    build: {
      from: "golang:1.26-bookworm",
      env: { CGO_ENABLED: "0" },
      steps: ["mkdir -p /out", "go build -o /out/node ."],
      caches: { "/root/.cache/go-build": "go-build" },
      artifacts: ["/out/node"],
      version: { file: "/out/VERSION" },
    },
    run: { entrypoint: ["/cyberapp/node", "--datadir=/cyberdata"], ports: [8333, "8334/tcp"] },
    container: { name: "node", ports: [{ port: 8333 }, { port: 8334, bind: "127.0.0.1" }] },
  };
}

/** Deep copy, then apply a change. */
export function withChange(change: (s: ImageSpec & Record<string, unknown>) => void): unknown {
  const s = structuredClone(goodSpec()) as ImageSpec & Record<string, unknown>;
  change(s);
  return s;
}

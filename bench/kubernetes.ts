/**
 * `npm run bench:kubernetes`: a 3-node Kubernetes stack under the real Pulumi engine and Kubernetes
 * provider, on the single-node test cluster (scripts/kubernetes/start.ts), in one run:
 *   - first `up` (image built from warm step caches, imported, 3 StatefulSets Ready) and, per node,
 *     Pod created → Ready as the cluster recorded it;
 *   - no-op `preview` and no-op `up`, interleaved with the same stack without its nodes (images only:
 *     what the Docker variant of this stack is under this engine, since @pulumi/docker's plugin cannot
 *     run here) as the anchor.
 * Needs Docker, the test bases, the Pulumi CLI, the cluster binaries and the provider (scripts/test.sh
 * installs them). BENCH_RUNS (default 5).
 */
import { requireDocker } from "../tests/helpers/docker";
import { median, requireFreshPlugin, secondsOf } from "./anchors";
import { engineStack, imagesFolder, newBackend, pulumiRoot, TEST_BASE_CONFIG } from "../tests/helpers/engine";
import { startKubeCluster } from "../tests/helpers/kubeCluster";

const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 5));

async function main(): Promise<void> {
  requireFreshPlugin();
  pulumiRoot();
  await requireDocker();
  const cluster = await startKubeCluster();
  try {
    const backend = newBackend();
    const images = imagesFolder(["fixnode"]);
    const base = {
      "cybernode:imagesDirs": { value: JSON.stringify([images.root]) },
      "cybernode:baseImages": { value: TEST_BASE_CONFIG },
      "cybernode:uid": { value: "1000" },
    };
    const node = (rpc: number) => ({ image: "fullnode/fixnode", restart: "always", ports: [`127.0.0.1:${rpc}:18545`] });
    const kube = await engineStack("three-nodes", backend, {
      ...base,
      "cybernode:kubernetes": {
        value: JSON.stringify({
          kubeconfig: cluster.kubeconfig,
          namespace: "bench",
          dataSize: "1Gi",
          containerd: cluster.containerdSocket,
        }),
      },
      "cybernode:nodes": { value: JSON.stringify({ n1: node(18545), n2: node(18546), n3: node(18547) }) },
    });
    const imagesOnly = await engineStack("images-only", backend, { ...base, "cybernode:images": { value: '["fullnode/fixnode"]' } });
    const firstUp = await secondsOf(() => kube.up());
    await imagesOnly.up();
    const pods = JSON.parse(await cluster.kubectl(["-n", "bench", "get", "pods", "-o", "json"])) as {
      items: {
        metadata: { name: string; creationTimestamp: string };
        status: { conditions: { type: string; lastTransitionTime: string }[] };
      }[];
    };
    const toReady = pods.items.map((p) => {
      const ready = p.status.conditions.find((c) => c.type === "Ready");
      return [p.metadata.name, (Date.parse(ready?.lastTransitionTime ?? "") - Date.parse(p.metadata.creationTimestamp)) / 1000] as const;
    });
    const s = { kubePreview: [] as number[], anchorPreview: [] as number[], kubeUp: [] as number[], anchorUp: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      s.kubePreview.push(await secondsOf(() => kube.preview({ expectNoChanges: true })));
      s.anchorPreview.push(await secondsOf(() => imagesOnly.preview({ expectNoChanges: true })));
      s.kubeUp.push(await secondsOf(() => kube.up({ expectNoChanges: true })));
      s.anchorUp.push(await secondsOf(() => imagesOnly.up({ expectNoChanges: true })));
    }
    const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, median(v)])) as Record<keyof typeof s, number>;
    const f = (x: number) => `${x.toFixed(2)} s`;
    console.log(`3-node Kubernetes stack, real engine and provider, medians of ${RUNS} interleaved:`);
    console.log(`  first up (build from warm caches, import, 3 StatefulSets Ready): ${f(firstUp)}`);
    console.log(`  Pod created → Ready: ${toReady.map(([n, x]) => `${n} ${f(x)}`).join(", ")} (second resolution)`);
    console.log(
      `  no-op preview: ${f(m.kubePreview)} vs images-only ${f(m.anchorPreview)} (×${(m.kubePreview / m.anchorPreview).toFixed(2)})`,
    );
    console.log(`  no-op up:      ${f(m.kubeUp)} vs images-only ${f(m.anchorUp)} (×${(m.kubeUp / m.anchorUp).toFixed(2)})`);
    console.log(JSON.stringify({ runs: RUNS, firstUp, toReady, medians: m, samples: s }));
    await kube.destroy();
    await imagesOnly.destroy();
  } finally {
    await cluster.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deployStack } from "../../src/program/program";
import { imagesFolder, imagesOnlyConfig, PROJECT, pulumiRoot } from "../helpers/engine";
import { engineTest, requireEngine } from "../helpers/engineTest";

// `npm run up` runs with the project's own Pulumi.yaml: its `plugins` entry (path ./bin, relative to the
// project) is how the engine finds the provider plugin. Here that file, unchanged, in a folder laid out as
// the project is (bin/ beside it), with the program inline (the Node language host is not served here).

requireEngine();

engineTest(
  "the project's Pulumi.yaml starts bin/pulumi-resource-cybernode-images for the image resources; state stays in the project",
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "cybernode-project-"));
    copyFileSync(join(PROJECT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
    symlinkSync(join(PROJECT, "bin"), join(dir, "bin"));
    mkdirSync(join(dir, ".pulumi-state"));
    mkdirSync(join(dir, "stacks"));
    writeFileSync(join(dir, "index.ts"), "");
    const images = imagesFolder(["fixnode"]);
    const pulumiCommand = await PulumiCommand.get({ root: pulumiRoot(), skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: "local", projectName: "cybernode", program: async () => deployStack({ projectDir: PROJECT }) },
      { workDir: dir, pulumiCommand, envVars: { PULUMI_CONFIG_PASSPHRASE: "", PULUMI_SKIP_UPDATE_CHECK: "true" } },
    );
    await stack.setAllConfig(imagesOnlyConfig(images.root, ["fullnode/fixnode"]));
    const up = await stack.up();
    t.is(up.summary.result, "succeeded");
    t.regex(up.stdout, /cybernode-images:index:RunImage fullnode-fixnode-run created/);
    t.deepEqual(readdirSync(join(dir, "stacks")), ["Pulumi.local.yaml"], "stack config lands in stacks/ (stackConfigDir)");
    t.true(readdirSync(join(dir, ".pulumi-state")).includes(".pulumi"), "state lands in the project's .pulumi-state");
    const pv = await stack.preview({ expectNoChanges: true });
    t.is(pv.changeSummary.same, 5);
  },
);

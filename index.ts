// The Pulumi program: one stack per cybernode host (stacks/Pulumi.<stack>.yaml).
// `pulumi up` builds the images in use, then runs each enabled node's container on the stack's host.
import { deployStack } from "./src/pulumi/program";

const out = deployStack({ projectDir: __dirname });
export const host = out.host;
export const nodes = out.nodes;
export const images = out.images;

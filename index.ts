// The Pulumi program: one stack per cybernode host (stacks/Pulumi.<stack>.yaml).
// `pulumi up` builds the images in use, then runs each enabled node's container on the stack's host.
import { basename, dirname } from "node:path";
import { deployStack } from "./src/program/program";

// This file runs from the project folder, or compiled as dist/program.js (bin/program.js).
const projectDir = basename(__dirname) === "dist" ? dirname(__dirname) : __dirname;

// The outputs (host, nodes, images) once the stack is declared; a bad stack file stops it with its message.
const stack = deployStack({ projectDir });
// Pulumi reads the rejection from the exported promise a tick later; marking it handled here keeps Node
// from printing a PromiseRejectionHandledWarning above the stack file's message.
stack.catch(() => {});
export = stack;

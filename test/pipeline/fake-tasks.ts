/**
 * A folder of small built tasks for the runner's tests: real task.json files and real Node
 * bundles run as the agent runs them, but quick and told by their inputs what to do.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PipelineEvent } from "../../pipeline/run-events";
import { createTimeline } from "../../pipeline/timeline";

/**
 * `Echo`: prints `log` lines; prints `show` variables (name=value, as the task sees them) and
 * its `connection`'s URL and token; sets `outputs` (name=value lines) as output variables and
 * `variables` as plain ones; registers `secret` with setsecret and prints it again; writes
 * `summary` as a summary and `record` as a file of the ev2-records artifact; waits `sleepMs`
 * (ending Canceled on SIGINT); ends with `result` and `message`.
 */
const echoTask = `
const fs = require("node:fs");
const path = require("node:path");
const input = (n) => process.env["INPUT_" + n.toUpperCase()] || "";
const lines = (n) => input(n).split("\\n").filter(Boolean);
const variable = (name) => {
  const key = name.replace(/[. ]/g, "_").toUpperCase();
  return process.env[key] ?? process.env["SECRET_" + key] ?? "<unset>";
};
for (const l of lines("log")) console.log(l);
for (const name of input("show").split(",").filter(Boolean)) console.log(name + "=" + variable(name));
const id = input("connection");
if (id) console.log("connection " + process.env["ENDPOINT_URL_" + id] + " token " + process.env["ENDPOINT_AUTH_PARAMETER_" + id + "_APITOKEN"]);
if (input("secret")) {
  console.log("##vso[task.setsecret]" + input("secret"));
  console.log("the secret is " + input("secret"));
}
for (const l of lines("outputs")) {
  const [k, ...v] = l.split("=");
  console.log("##vso[task.setvariable variable=" + k + ";isOutput=true]" + v.join("="));
}
for (const l of lines("variables")) {
  const [k, ...v] = l.split("=");
  console.log("##vso[task.setvariable variable=" + k + "]" + v.join("="));
}
const temp = process.env.AGENT_TEMPDIRECTORY;
if (input("summary")) {
  const f = path.join(temp, "summary-" + process.pid + ".md");
  fs.writeFileSync(f, input("summary"));
  console.log("##vso[task.uploadsummary]" + f);
}
if (input("record")) {
  fs.mkdirSync(path.join(temp, "ev2-records"), { recursive: true });
  const f = path.join(temp, "ev2-records", "record-" + process.pid + ".json");
  fs.writeFileSync(f, input("record"));
  console.log("##vso[artifact.upload containerfolder=ev2-records;artifactname=ev2-records]" + f);
}
const finish = (result, message) => {
  console.log("##vso[task.complete result=" + result + ";]" + message);
  process.exit(result === "Failed" ? 1 : 0);
};
const sleep = Number(input("sleepMs") || 0);
if (sleep > 0) {
  process.on("SIGINT", () => finish("Cancelled", "stopped by the pipeline"));
  console.log("sleeping");
  setTimeout(() => finish(input("result") || "Succeeded", input("message") || "done"), sleep);
} else {
  finish(input("result") || "Succeeded", input("message") || "done");
}
`;

const echoManifest = {
  id: "6d1e4f55-0000-4000-8000-00000000e001",
  name: "Echo",
  friendlyName: "Echo",
  instanceNameFormat: "Echo $(message)",
  version: { Major: 1, Minor: 2, Patch: 0 },
  execution: { Node20_1: { target: "index.js" } },
  inputs: [
    { name: "log", type: "multiLine" },
    { name: "show", type: "string" },
    { name: "connection", type: "connectedService:ev2rollout", aliases: ["ev2Connection"] },
    { name: "secret", type: "string" },
    { name: "outputs", type: "multiLine" },
    { name: "variables", type: "multiLine" },
    { name: "summary", type: "multiLine" },
    { name: "record", type: "multiLine" },
    { name: "sleepMs", type: "string" },
    { name: "result", type: "pickList", defaultValue: "Succeeded" },
    { name: "message", type: "string", defaultValue: "done" },
  ],
};

const serverManifest = {
  id: "6d1e4f55-0000-4000-8000-00000000e002",
  name: "ServerOnly",
  friendlyName: "Server only",
  version: { Major: 1, Minor: 0, Patch: 0 },
  execution: { HttpRequest: {} },
  inputs: [],
};

/** A tasks folder with Echo@1 and the agentless ServerOnly@1. */
export function fakeTasksDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), "fake-tasks-"));
  mkdirSync(join(dir, "Echo"));
  writeFileSync(join(dir, "Echo", "task.json"), JSON.stringify(echoManifest));
  writeFileSync(join(dir, "Echo", "index.js"), echoTask);
  mkdirSync(join(dir, "ServerOnly"));
  writeFileSync(join(dir, "ServerOnly", "task.json"), JSON.stringify(serverManifest));
  return dir;
}

/** The plain-text timeline of a run, and every event. */
export function recorder(): {
  text: () => string;
  events: PipelineEvent[];
  onEvent: (e: PipelineEvent) => void;
} {
  let text = "";
  const events: PipelineEvent[] = [];
  const timeline = createTimeline({ write: (t) => (text += t), color: false });
  return {
    text: () => text,
    events,
    onEvent: (e) => {
      events.push(e);
      timeline(e);
    },
  };
}

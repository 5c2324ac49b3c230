/**
 * The extension's built tasks (dist/tasks/<Name>/task.json + bundle) and how a YAML `task:`
 * reference finds one: by name or id, with or without the extension's contribution prefix.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { devTaskId } from "../scripts/derived-guid.mjs";

export interface TaskInputDefinition {
  name: string;
  type: string;
  defaultValue?: string;
  aliases: string[];
}

export interface BuiltTask {
  name: string;
  id: string;
  /** The id the dev package gives it (scripts/package.mjs): a classic release may name either. */
  devId: string;
  version: string;
  major: number;
  friendlyName: string;
  instanceNameFormat?: string;
  inputs: TaskInputDefinition[];
  /** Folder holding task.json and the bundle the agent runs. */
  directory: string;
  /** Why the runner cannot run it (an agentless task, a task not built yet). */
  notRunnable?: string;
}

export type TaskLookup = { task: BuiltTask; majorDiffers: boolean } | { problem: string };

interface Manifest {
  id: string;
  name: string;
  friendlyName?: string;
  instanceNameFormat?: string;
  version: { Major: number; Minor: number; Patch: number };
  execution?: Record<string, { target?: string }>;
  inputs?: Array<{
    name: string;
    type: string;
    defaultValue?: string | boolean | number;
    aliases?: string[];
  }>;
}

export class TaskCatalog {
  private constructor(
    readonly directory: string,
    readonly tasks: BuiltTask[],
  ) {}

  static load(directory: string): TaskCatalog {
    const tasks: BuiltTask[] = [];
    if (existsSync(directory)) {
      for (const entry of readdirSync(directory, { withFileTypes: true })) {
        const folder = join(directory, entry.name);
        const manifestPath = join(folder, "task.json");
        if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
        const m = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
        const target = m.execution?.Node20_1?.target ?? m.execution?.Node24?.target;
        let notRunnable: string | undefined;
        if (!target)
          notRunnable = `${m.name} is an agentless task: Azure DevOps runs it on the server, not on an agent`;
        else if (!existsSync(join(folder, target)))
          notRunnable = `${m.name} has no bundle at ${join(folder, target)}: run npm run build`;
        tasks.push({
          name: m.name,
          id: m.id,
          devId: devTaskId(m.id),
          version: `${m.version.Major}.${m.version.Minor}.${m.version.Patch}`,
          major: m.version.Major,
          friendlyName: m.friendlyName ?? m.name,
          instanceNameFormat: m.instanceNameFormat,
          inputs: (m.inputs ?? []).map((i) => ({
            name: i.name,
            type: i.type,
            defaultValue: i.defaultValue === undefined ? undefined : String(i.defaultValue),
            aliases: i.aliases ?? [],
          })),
          directory: folder,
          notRunnable,
        });
      }
    }
    return new TaskCatalog(directory, tasks);
  }

  names(): string[] {
    return this.tasks.map((t) => t.name);
  }

  /** A task by its release or dev package id (a classic release's `taskId`). */
  byId(id: string): BuiltTask | undefined {
    const wanted = id.trim().toLowerCase();
    return this.tasks.find((t) => t.id.toLowerCase() === wanted || t.devId === wanted);
  }

  /** `TriggerEv2Rollout@1`, `publisher.extension.TriggerEv2Rollout@1` or `<task id>@1` (release or dev id). */
  find(reference: string): TaskLookup {
    const m = /^(.+)@(\d+)$/.exec(reference.trim());
    if (!m)
      return {
        problem: `'${reference}' has no major version: write it as Name@major, for example ${this.tasks[0]?.name ?? "TriggerEv2Rollout"}@1`,
      };
    const ref = m[1].toLowerCase();
    const task = this.tasks.find(
      (t) =>
        t.name.toLowerCase() === ref ||
        t.id.toLowerCase() === ref ||
        t.devId === ref ||
        ref.endsWith(`.${t.name.toLowerCase()}`),
    );
    if (!task)
      return {
        problem: `${reference} is not one of this extension's tasks (${this.names().join(", ") || `none built in ${this.directory}`})`,
      };
    return { task, majorDiffers: task.major !== Number(m[2]) };
  }
}

/** The input a YAML key names: its name or one of its aliases, case-insensitively. */
export function findInput(task: BuiltTask, key: string): TaskInputDefinition | undefined {
  const k = key.toLowerCase();
  return task.inputs.find((i) => i.name.toLowerCase() === k || i.aliases.some((a) => a.toLowerCase() === k));
}

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import type { TaskAgent } from "../agent/agent";
import { field, InputError, readInputs } from "../agent/inputs";
import type { TaskOutcome } from "../agent/run-task";
import {
  checkConnection,
  connectEv2,
  connectionInputs,
  ev2IdInput,
  thisRunsRolloutIdInput,
} from "../ev2/connection";
import type { Rollout } from "../ev2/schemas";
import { markdownTable, md, mdLines } from "../markdown";
import { isAbortError } from "../http/retry";
import { findRunRollout } from "../rollout/find-rollout";
import { publishRecord, readRunIdentity, recordArtifactName, type RunIdentity } from "../rollout/record";
import type { Ev2Client } from "../ev2/client";
import type { NotificationCardInput, RollbackForCard } from "../teams/notification-card";
import {
  chooseNotificationKind,
  notificationChoices,
  type NotificationChoice,
  type NotificationKind,
} from "../teams/notification-kind";
import { notifyTeams, type TeamsNotificationResult } from "../teams/notify";
import { stressSummaryFromResult, type StressSummaryForCard } from "../teams/stress-summary";
import { telemetryForCard, type TelemetryForCard } from "../telemetry/evidence";
import type { TeamsMessage } from "../teams/teams-message";
import { validateWebhookUrl } from "../teams/webhook-url";
import { approvalUrlFor } from "../report/deployment-report";
import { httpOptionsFor } from "./common";

export const teamsInputs = {
  ...connectionInputs,
  webhookUrl: field.secret({ required: true }),
  notification: field.choice(notificationChoices, "auto"),
  rolloutId: thisRunsRolloutIdInput(),
  stressResultFile: field.text(),
  telemetryResultFile: field.text(),
  rollbackOf: ev2IdInput("the EV2 rollout id that was rolled back, such as $(badRolloutId)"),
  timeToSafetySeconds: field.optionalNumber({ min: 0, max: 7 * 24 * 3600, unit: "seconds" }),
  failOnError: field.boolean(false),
};

type TeamsSettings = {
  notification: NotificationChoice;
  rolloutId?: string;
  stressResultFile?: string;
  rollbackOf?: string;
};

/** Which of rolloutId and stressResultFile the chosen card needs. */
function missingSources(s: TeamsSettings): Array<[string, string]> {
  if (s.notification === "rolledBack" && !s.rollbackOf) {
    return [
      [
        "rollbackOf",
        "is required when notification is rolledBack: the id of the rollout that was rolled back (the rollbackOf given to TriggerEv2Rollout)",
      ],
      ...(s.rolloutId ? [] : missingSources({ ...s, rollbackOf: "-" })),
    ];
  }
  if (s.notification === "stressTest") {
    return s.stressResultFile
      ? []
      : [
          [
            "stressResultFile",
            "is required when notification is stressTest: the result file of a StressTestStage step, e.g. $(stress.resultFile)",
          ],
        ];
  }
  if (s.rolloutId) return [];
  if (s.notification === "auto") {
    return s.stressResultFile
      ? []
      : [["rolloutId", "auto reads the rollout once to choose the card (no stressResultFile is given)"]];
  }
  return [["rolloutId", `the ${s.notification} card is about a rollout`]];
}

/** Why the card needs a rollout when rolloutId is empty: then the one this run started is looked up. */
function rolloutNeeded(s: TeamsSettings): string | undefined {
  return missingSources(s).find(([name]) => name === "rolloutId")?.[1];
}

/**
 * The webhook URL is registered when read (and its encoded forms with it, see SecretMask); its
 * `sig` query parameter is the URL's credential on its own, and an error text may quote it alone.
 */
function registerWebhookSecrets(agent: TaskAgent, url: string): void {
  const sig = new URL(url).searchParams.get("sig");
  // Short values would mask ordinary words all over the log.
  if (sig && sig.length >= 16) agent.setSecret(sig);
}

/** Reads a StressTestStage result file; any problem is an input error (nothing is sent). */
async function readStressResult(agent: TaskAgent, file: string): Promise<StressSummaryForCard> {
  const base = agent.getVariable("System.DefaultWorkingDirectory") ?? process.cwd();
  const path = isAbsolute(file) ? file : resolve(base, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (err as Error).message;
    throw new InputError(
      `Input 'stressResultFile' cannot be read: ${path} ${why}. Give the resultFile output of a StressTestStage step, e.g. $(stress.resultFile).`,
    );
  }
  // The reader brings the histogram decoder: loaded only by runs that have a stress result.
  const { parseResultDocument } = await import("../stress/merge");
  try {
    return stressSummaryFromResult(parseResultDocument(text, path));
  } catch (err) {
    throw new InputError(
      `Input 'stressResultFile' is not a StressTestStage result (schemaVersion 1): ${(err as Error).message}.`,
    );
  }
}

/** Reads GateApproval's telemetry result file; any problem is an input error (nothing is sent). */
function readTelemetryResult(agent: TaskAgent, file: string): TelemetryForCard {
  const base = agent.getVariable("System.DefaultWorkingDirectory") ?? process.cwd();
  const path = isAbsolute(file) ? file : resolve(base, file);
  try {
    return telemetryForCard(readFileSync(path, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : (err as Error).message;
    throw new InputError(
      `Input 'telemetryResultFile' cannot be used: ${path}: ${why}. Give the telemetryResultFile output of a GateApproval step of this job, e.g. $(gate.telemetryResultFile).`,
    );
  }
}

export async function runTeamsNotify(agent: TaskAgent): Promise<TaskOutcome> {
  const startedAt = new Date().toISOString();
  // Set first so that a later step's condition can read it whatever happens here.
  agent.setOutput("delivered", "false");
  const s = readInputs(agent, teamsInputs, {
    secrets: ["webhookUrl"],
    check: (v) => {
      const webhook = validateWebhookUrl(v.webhookUrl);
      return [
        ...(webhook.ok ? [] : [["webhookUrl", webhook.problem] as [string, string]]),
        ...missingSources(v).filter(([name]) => name !== "rolloutId"),
        // The connection is only used to read the rollout (or find it).
        ...(v.rolloutId || rolloutNeeded(v) ? checkConnection(v) : []),
      ];
    },
  });
  const webhook = validateWebhookUrl(s.webhookUrl);
  if (!webhook.ok) throw new InputError(webhook.error);
  registerWebhookSecrets(agent, webhook.url);
  if (webhook.warning) agent.warning(webhook.warning);

  const stress = s.stressResultFile ? await readStressResult(agent, s.stressResultFile) : undefined;
  const telemetry = s.telemetryResultFile ? readTelemetryResult(agent, s.telemetryResultFile) : undefined;
  const needed = rolloutNeeded(s);
  const client = s.rolloutId || needed ? connectEv2(agent, s, httpOptionsFor(agent)) : undefined;
  const run = readRunIdentity(agent);
  const report = (o: Pick<Finish, "sent" | "rollout" | "problem">) =>
    finish(agent, { ...o, settings: s, run, startedAt, stress });

  if (client && needed) {
    try {
      s.rolloutId = (await findRunRollout(client, run, (m) => agent.info(m))).rolloutId;
    } catch (err) {
      if (isAbortError(err) || agent.cancellation.aborted) throw err;
      return report({ problem: `No card was sent: ${needed}. ${(err as Error).message}` });
    }
  }

  let rollout: Rollout | undefined;
  if (client && s.rolloutId) {
    try {
      const answer = await client.getRollout(s.rolloutId);
      if (!answer.notModified) rollout = answer.rollout;
    } catch (err) {
      if (isAbortError(err) || agent.cancellation.aborted) throw err;
      const problem = `Could not read rollout ${s.rolloutId} from EV2: ${(err as Error).message.replace(/\.?$/, ".")}`;
      // A stress card does not need the rollout: send it without the rollout's facts.
      if (!stress || (s.notification !== "stressTest" && s.notification !== "auto")) {
        return report({ problem: `${problem} No card was sent.` });
      }
      agent.warning(`${problem} The stress test card is sent without the rollout's facts.`);
    }
  }

  const rollback = client && s.rollbackOf ? await readRolledBack(agent, client, s) : undefined;
  const kind: NotificationKind =
    s.notification === "auto"
      ? chooseNotificationKind(rollout, { stressResult: stress, rollback: !!rollback })
      : s.notification;
  const card: NotificationCardInput = {
    kind,
    rollout,
    stress,
    telemetry,
    rollback,
    runUrl: run.runUrl,
    approvalUrl: approvalUrlFor(run),
    pipelineName: agent.getVariable("Build.DefinitionName") ?? agent.getVariable("Release.DefinitionName"),
  };
  const chosen = s.notification === "auto" ? " (chosen by auto)" : "";
  const about = rollout ? ` about rollout ${rollout.rolloutId}, which is ${rollout.status},` : "";
  agent.info(`Posting a ${kind} card${chosen}${about} to the Teams webhook.`);
  const sent = await notifyTeams(webhook.url, card, {
    signal: agent.cancellation,
    onRetry: httpOptionsFor(agent).onRetry,
  });
  return report({ sent, rollout });
}

/** The rolled-back rollout, for the card's "why"; a card without it still says which rollout it was. */
async function readRolledBack(
  agent: TaskAgent,
  client: Ev2Client,
  s: { rollbackOf?: string; timeToSafetySeconds?: number },
): Promise<RollbackForCard> {
  const rollback: RollbackForCard = {
    rolledBackRolloutId: s.rollbackOf!,
    timeToSafetySeconds: s.timeToSafetySeconds,
  };
  try {
    const answer = await client.getRollout(s.rollbackOf!);
    if (!answer.notModified) rollback.rolledBack = answer.rollout;
  } catch (err) {
    if (isAbortError(err) || agent.cancellation.aborted) throw err;
    agent.warning(
      `Could not read the rolled-back rollout ${s.rollbackOf} from EV2: ${(err as Error).message.replace(/\.?$/, ".")} The card names it without its errors.`,
    );
  }
  return rollback;
}

interface Finish {
  settings: TeamsSettings & { failOnError: boolean };
  run: RunIdentity;
  startedAt: string;
  stress?: StressSummaryForCard;
  rollout?: Rollout;
  /** What was posted and how it went; absent when nothing could be posted. */
  sent?: TeamsNotificationResult;
  /** Why nothing was posted. */
  problem?: string;
}

/** Outputs, result, record and summary; a card that was not delivered is kept as an artifact. */
function finish(agent: TaskAgent, f: Finish): TaskOutcome {
  const { settings: s, sent } = f;
  const delivered = sent?.delivered === true;
  agent.setOutput("delivered", String(delivered));
  const cardFile = sent && !delivered ? keepCard(agent, sent.message, f) : undefined;

  let result: TaskOutcome["result"];
  let message: string;
  if (delivered) {
    result = "Succeeded";
    message = `Teams accepted the ${sent.kind} card (HTTP ${sent.status}${sent.attempts > 1 ? ` after ${sent.attempts} attempts` : ""}).`;
    agent.info(message);
  } else {
    const why = sent ? `The ${sent.kind} card was not delivered: ${sent.error}` : f.problem!;
    const kept = cardFile
      ? ` The card is kept in the ${recordArtifactName} artifact as ${basename(cardFile)}.`
      : "";
    // The agent shows the result's message as the warning (or the error): no second line for it.
    result = s.failOnError ? "Failed" : "SucceededWithIssues";
    message = `${why}${kept}${s.failOnError ? "" : " The pipeline goes on (failOnError is false)."}`;
  }

  publishRecord(
    agent,
    {
      schemaVersion: 1,
      task: "TeamsNotify",
      startedAt: f.startedAt,
      endedAt: new Date().toISOString(),
      result,
      message,
      run: f.run,
      rolloutId: s.rolloutId,
      details: {
        notification: s.notification,
        kind: sent?.kind,
        delivered,
        status: sent?.status,
        attempts: sent?.attempts,
        bytes: sent?.bytes,
        error: sent?.error ?? f.problem,
        failOnError: s.failOnError,
        rolloutStatus: f.rollout?.status,
        rollbackOf: s.rollbackOf,
        stressResultFile: s.stressResultFile,
        stressPassed: f.stress?.passed,
        cardFile: cardFile && basename(cardFile),
      },
    },
    summaryMarkdown(f, message, cardFile),
  );
  return { result, message };
}

/** The envelope as it would have been posted, beside the record in the records artifact. */
function keepCard(agent: TaskAgent, message: TeamsMessage, f: Finish): string | undefined {
  try {
    const dir = join(agent.tempDirectory(), recordArtifactName);
    mkdirSync(dir, { recursive: true });
    const job = (f.run.jobName ?? "job").replace(/[^A-Za-z0-9_-]/g, "_");
    const file = join(dir, `${job}-TeamsNotify-${f.startedAt.replace(/[:.]/g, "-")}-card.json`);
    writeFileSync(file, agent.redact(JSON.stringify(message, null, 2)));
    agent.uploadArtifact(recordArtifactName, file);
    return file;
  } catch (err) {
    agent.warning(`Could not keep the card as an artifact: ${(err as Error).message}`);
    return undefined;
  }
}

function summaryMarkdown(f: Finish, message: string, cardFile: string | undefined): string {
  const { sent, settings: s } = f;
  const answer = sent
    ? `${sent.status === undefined ? "no answer" : `HTTP ${sent.status}`} after ${sent.attempts} attempt${sent.attempts === 1 ? "" : "s"}`
    : "not sent";
  const rows: Array<[string, string]> = [
    ["Card", sent ? `${sent.kind}${s.notification === "auto" ? " (auto)" : ""}` : s.notification],
    ["Delivered", sent?.delivered ? "yes" : "no"],
    ["Answer", answer],
  ];
  if (sent) rows.push(["Size", `${(sent.bytes / 1024).toFixed(1)} KB`]);
  if (s.rolloutId)
    rows.push(["Rollout", f.rollout ? `${s.rolloutId} (${f.rollout.status})` : `${s.rolloutId} (not read)`]);
  if (s.stressResultFile)
    rows.push([
      "Stress result",
      `${basename(s.stressResultFile)}${f.stress ? ` (${f.stress.passed ? "passed" : "failed"})` : ""}`,
    ]);
  if (cardFile) rows.push(["Card kept as", `${basename(cardFile)} in the ${recordArtifactName} artifact`]);
  return mdLines([
    md`### Teams notification: ${sent?.delivered ? "delivered" : "not delivered"}`,
    "",
    markdownTable(["", ""], rows),
    "",
    md`${message}`,
    "",
  ]);
}

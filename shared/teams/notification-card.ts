import {
  adaptiveCardSchemaUrl,
  type AdaptiveCard,
  type CardElement,
  type ContainerStyle,
  type Fact,
  type OpenUrlAction,
  type TextColor,
} from "./adaptive-card";
import {
  clip,
  describeStatuses,
  formatMs,
  formatPercent,
  formatRate,
  markdownLink,
  plural,
  statusIcon,
  statusLabel,
  statusWords,
  usableUrl,
} from "./card-text";
import { formatDuration } from "../format";
import { chooseNotificationKind, type NotificationChoice, type NotificationKind } from "./notification-kind";
import { mitigationOf } from "../rollout/mitigation";
import { newRegionsOf } from "../rollout/new-regions";
import { remediationFor } from "../rollout/remediation";
import {
  countRegions,
  elapsedMs,
  focusStageIndex,
  isTerminal,
  parseTime,
  primaryError,
  rolloutElapsedMs,
  waitingAction,
  type RegionView,
  type RolloutErrorView,
  type RolloutView,
  type StageView,
} from "./rollout-view";
import type { TelemetryForCard } from "../telemetry/evidence";
import type { StressFiguresForCard, StressSummaryForCard } from "./stress-summary";
import { buildTeamsMessage, teamsMessageBytes, teamsMessageLimitBytes } from "./teams-message";

export interface NotificationCardInput {
  /** `auto` is resolved with `chooseNotificationKind`. */
  kind: NotificationChoice;
  /** Required for every kind but `stressTest`. */
  rollout?: RolloutView;
  /** Required for `stressTest`. */
  stress?: StressSummaryForCard;
  /** A telemetry gate's verdict (GateApproval's telemetryResultFile): shown with its deciding figures. */
  telemetry?: TelemetryForCard;
  /** Required for `rolledBack`: the rollout that was judged bad (`rollout` is the rollback). */
  rollback?: RollbackForCard;
  /** The pipeline run that sent the notification. */
  runUrl?: string;
  /** Where to approve the gate (`waitingForApproval`). */
  approvalUrl?: string;
  pipelineName?: string;
  /** Replaces the heading; the standard heading then follows it. */
  title?: string;
  /** The time durations of running things are measured to; defaults to now. */
  now?: Date | number;
}

export interface RollbackForCard {
  /** The bad rollout's id, always known. */
  rolledBackRolloutId: string;
  /** The bad rollout as EV2 has it now, when it could be read: what went wrong comes from it. */
  rolledBack?: RolloutView;
  /** From the bad verdict to EV2 accepting the rollback (TriggerEv2Rollout's timeToSafetySeconds). */
  timeToSafetySeconds?: number;
}

/** How much of each list a card shows; the builder steps down this table until the card fits. */
interface ListLimits {
  stages: number;
  regions: number;
  errors: number;
  endpoints: number;
  thresholds: number;
  messageChars: number;
}

const limitSteps: readonly ListLimits[] = [
  { stages: 15, regions: 12, errors: 3, endpoints: 10, thresholds: 10, messageChars: 400 },
  { stages: 8, regions: 6, errors: 2, endpoints: 5, thresholds: 5, messageChars: 200 },
  { stages: 0, regions: 0, errors: 1, endpoints: 1, thresholds: 3, messageChars: 120 },
];

/** Under the Teams limit with room for what a Workflows flow adds around the card. */
const cardBudgetBytes = teamsMessageLimitBytes - 2048;

const nameChars = 80;
const valueChars = 160;

const headerStyles: Record<NotificationKind, ContainerStyle> = {
  started: "accent",
  stageCompleted: "accent",
  waitingForApproval: "warning",
  stressTest: "good",
  completed: "good",
  failed: "attention",
  cancelled: "warning",
  rolledBack: "warning",
};

/** The Adaptive Card (1.4) for one notification, under the Teams size limit whatever the rollout's size. */
export function buildNotificationCard(input: NotificationCardInput): AdaptiveCard {
  const kind =
    input.kind === "auto"
      ? chooseNotificationKind(input.rollout, { stressResult: input.stress, rollback: !!input.rollback })
      : input.kind;
  if (kind === "rolledBack" && !input.rollback) {
    throw new Error("A rolledBack notification needs the rollout that was rolled back (rollbackOf).");
  }
  if (kind === "stressTest" && !input.stress) {
    throw new Error("A stressTest notification needs the stress test result (stressResultFile).");
  }
  if (kind !== "stressTest" && !input.rollout) {
    throw new Error(`A ${kind} notification needs the rollout (rolloutId).`);
  }
  const now = input.now === undefined ? Date.now() : Number(input.now);
  let card: AdaptiveCard | undefined;
  for (const limits of limitSteps) {
    card = composeCard(kind, input, now, limits);
    if (teamsMessageBytes(buildTeamsMessage(card)) <= cardBudgetBytes) return card;
  }
  // Every text is clipped and every URL capped at 2 KB, so the smallest step is far below the limit.
  return card!;
}

function composeCard(
  kind: NotificationKind,
  input: NotificationCardInput,
  now: number,
  limits: ListLimits,
): AdaptiveCard {
  const { rollout, stress } = input;
  const heading = clip(defaultHeading(kind, input), 200);
  const body: CardElement[] = [header(kind, input, heading)];
  if (rollout) body.push({ type: "FactSet", facts: rolloutFacts(rollout, now) });
  switch (kind) {
    case "started":
      break;
    case "stageCompleted":
      body.push(...completedStageSection(rollout!, now, limits));
      break;
    case "waitingForApproval":
      body.push(...waitingSection(rollout!, input, now));
      break;
    case "stressTest":
      body.push(...stressSection(stress!, limits));
      break;
    case "completed":
      break;
    case "failed":
      body.push(...failureSection(rollout!, now, limits));
      break;
    case "cancelled":
      body.push(...cancellationSection(rollout!, limits));
      break;
    case "rolledBack":
      body.push(...rollbackSection(input.rollback!, rollout!, now, limits));
      break;
  }
  if (input.telemetry) body.push(...telemetrySection(input.telemetry, limits));
  if (rollout) body.push(...stagesSection(rollout, kind, now, limits));
  const actions = linkActions(kind, input);
  return {
    type: "AdaptiveCard",
    $schema: adaptiveCardSchemaUrl,
    version: "1.4",
    fallbackText: rollout ? clip(`${heading}: ${rollout.serviceId} to ${rollout.environment}`, 300) : heading,
    body,
    ...(actions.length > 0 ? { actions } : {}),
  };
}

function stageAbout(kind: NotificationKind): Parameters<typeof focusStageIndex>[1] {
  if (kind === "failed" || kind === "cancelled") return "failure";
  if (kind === "waitingForApproval") return "wait";
  if (kind === "stageCompleted" || kind === "completed") return "lastCompleted";
  return "current";
}

function defaultHeading(kind: NotificationKind, input: NotificationCardInput): string {
  const rollout = input.rollout;
  const focus = rollout ? rollout.stages[focusStageIndex(rollout, stageAbout(kind))]?.name : undefined;
  const at = (prefix: string) => (focus ? ` ${prefix} ${clip(focus, nameChars)}` : "");
  switch (kind) {
    case "started":
      return "🚀 Rollout started";
    case "stageCompleted":
      return focus ? `✔️ Stage ${clip(focus, nameChars)} completed` : "✔️ Stage completed";
    case "waitingForApproval":
      return `⏸️ Waiting for approval${at("before")}`;
    case "stressTest": {
      const stage = input.stress?.stageName ? ` of ${clip(input.stress.stageName, nameChars)}` : "";
      return input.stress?.passed ? `🧪 Stress test${stage} passed` : `🧪 Stress test${stage} failed`;
    }
    case "completed":
      return "✅ Rollout completed";
    case "failed":
      return `❌ Rollout failed${at("at")}`;
    case "cancelled":
      return rejection(rollout!) ? `🚫 Rollout rejected${at("at")}` : "🚫 Rollout cancelled";
    case "rolledBack":
      return `↩️ Rolled back to ${clip(rollout!.artifactVersionNumber, nameChars)}`;
  }
}

function outcomeStyle(kind: NotificationKind, input: NotificationCardInput): ContainerStyle {
  if (kind === "stressTest" && input.stress && !input.stress.passed) return "attention";
  return headerStyles[kind];
}

function header(kind: NotificationKind, input: NotificationCardInput, heading: string): CardElement {
  const items: CardElement[] = [
    {
      type: "TextBlock",
      text: input.title ? clip(input.title, 200) : heading,
      size: "large",
      weight: "bolder",
      wrap: true,
    },
  ];
  if (input.title)
    items.push({ type: "TextBlock", text: heading, weight: "bolder", wrap: true, spacing: "small" });
  const rollout = input.rollout;
  const subtitle = [
    rollout ? `${clip(rollout.serviceId, nameChars)} → ${clip(rollout.environment, nameChars)}` : undefined,
    input.pipelineName ? `pipeline ${clip(input.pipelineName, nameChars)}` : undefined,
  ].filter(Boolean);
  if (subtitle.length > 0) {
    items.push({
      type: "TextBlock",
      text: subtitle.join(" · "),
      isSubtle: true,
      wrap: true,
      spacing: "small",
    });
  }
  return { type: "Container", style: outcomeStyle(kind, input), bleed: true, items };
}

function rolloutFacts(rollout: RolloutView, now: number): Fact[] {
  const regions = countRegions(rollout.stages);
  const completedStages = rollout.stages.filter((s) => s.status === "Completed").length;
  const elapsed = rolloutElapsedMs(rollout, now);
  const status =
    !isTerminal(rollout) && rollout.currentStage
      ? `${statusLabel(rollout.status)} · ${clip(rollout.currentStage, nameChars)}`
      : statusLabel(rollout.status);
  const regionSummary = [
    `${regions.deployed} of ${regions.total} deployed`,
    `${regions.pending} pending`,
    ...(regions.failed > 0 ? [`${regions.failed} failed`] : []),
  ].join(" · ");
  const stageMap = rollout.stageMapVersion
    ? `${rollout.stageMapName} ${rollout.stageMapVersion}`
    : rollout.stageMapName;
  const facts: Fact[] = [
    { title: "Service group", value: clip(rollout.serviceGroupName, valueChars) },
    { title: "Service", value: clip(rollout.serviceId, valueChars) },
    { title: "Environment", value: clip(rollout.environment, valueChars) },
    { title: "Artifact version", value: clip(rollout.artifactVersionNumber, valueChars) },
    { title: "Stage map", value: clip(stageMap, valueChars) },
    { title: "Rollout", value: clip(rollout.rolloutId, valueChars) },
    { title: "Status", value: status },
    { title: "Stages", value: `${completedStages} of ${rollout.stages.length} completed` },
    { title: "Regions", value: regionSummary },
  ];
  if (elapsed !== undefined) {
    facts.push({ title: isTerminal(rollout) ? "Duration" : "Running for", value: formatDuration(elapsed) });
  }
  return facts;
}

function sectionTitle(text: string): CardElement {
  return { type: "TextBlock", text, weight: "bolder", wrap: true, separator: true, spacing: "medium" };
}

function moreLine(text: string): CardElement {
  return { type: "TextBlock", text, isSubtle: true, wrap: true, spacing: "small" };
}

/** `max` consecutive items around `focus` (a few before it, the rest after). */
function windowAround(total: number, focus: number, max: number): { start: number; end: number } {
  if (total <= max) return { start: 0, end: total };
  const start = Math.min(Math.max(0, focus - Math.floor(max / 2)), total - max);
  return { start, end: start + max };
}

function stagesSection(
  rollout: RolloutView,
  kind: NotificationKind,
  now: number,
  limits: ListLimits,
): CardElement[] {
  const stages = rollout.stages;
  if (stages.length === 0) return [];
  const focus = focusStageIndex(rollout, stageAbout(kind));
  const { start, end } = windowAround(stages.length, Math.max(0, focus), limits.stages);
  const elements: CardElement[] = [sectionTitle(`Stages (${stages.length})`)];
  if (start > 0) {
    const earlier = stages.slice(0, start).map((s) => s.status);
    elements.push(moreLine(`… ${plural(start, "earlier stage")} (${describeStatuses(earlier)})`));
  }
  if (end > start) {
    elements.push({
      type: "FactSet",
      facts: stages.slice(start, end).map((s) => stageFact(s, now)),
      spacing: "small",
    });
  }
  if (end < stages.length) {
    const later = stages.slice(end).map((s) => s.status);
    elements.push(
      moreLine(
        `… and ${stages.length - end} more ${stages.length - end === 1 ? "stage" : "stages"} (${describeStatuses(later)})`,
      ),
    );
  }
  return elements;
}

/** `Completed · 20/20 regions · 9m 0s` */
function stageSummary(stage: StageView, now: number): string {
  const done = stage.regions.filter((r) => r.status === "Completed").length;
  const took = stage.startTime ? elapsedMs(stage.startTime, stage.endTime, now) : undefined;
  const parts = [statusLabel(stage.status), `${done}/${stage.regions.length} regions`];
  if (took !== undefined) parts.push(formatDuration(took));
  return parts.join(" · ");
}

function stageFact(stage: StageView, now: number): Fact {
  return {
    title: `${statusIcon(stage.status)} ${clip(stage.name, nameChars)}`,
    value: stageSummary(stage, now),
  };
}

// Failed and running regions first: those are what the reader is looking for.
const regionOrder: Record<string, number> = { Failed: 0, InProgress: 1 };

function regionsOf(stage: StageView, now: number, limits: ListLimits): CardElement[] {
  if (stage.regions.length === 0 || limits.regions === 0) return [];
  const ordered = stage.regions
    .map((region, index) => ({ region, index }))
    .sort(
      (a, b) =>
        (regionOrder[a.region.status] ?? 2) - (regionOrder[b.region.status] ?? 2) || a.index - b.index,
    )
    .map((x) => x.region);
  const shown = ordered.slice(0, limits.regions);
  const rest = ordered.slice(limits.regions);
  const elements: CardElement[] = [
    {
      type: "TextBlock",
      text: `Regions of ${clip(stage.name, nameChars)}`,
      weight: "bolder",
      wrap: true,
      spacing: "medium",
    },
    { type: "FactSet", facts: shown.map((r) => regionFact(r, now)), spacing: "small" },
  ];
  if (rest.length > 0) {
    elements.push(
      moreLine(
        `… and ${rest.length} more ${rest.length === 1 ? "region" : "regions"} (${describeStatuses(rest.map((r) => r.status))})`,
      ),
    );
  }
  return elements;
}

function regionFact(region: RegionView, now: number): Fact {
  const took = region.startTime ? elapsedMs(region.startTime, region.endTime, now) : undefined;
  const value =
    took === undefined
      ? statusLabel(region.status)
      : `${statusLabel(region.status)} · ${formatDuration(took)}`;
  return { title: `${statusIcon(region.status)} ${clip(region.name, nameChars)}`, value };
}

function completedStageSection(rollout: RolloutView, now: number, limits: ListLimits): CardElement[] {
  const index = focusStageIndex(rollout, "lastCompleted");
  const stage = rollout.stages[index];
  if (!stage) return [];
  const next = rollout.stages
    .slice(index + 1)
    .find((s) => s.status !== "Completed" && s.status !== "Skipped");
  const facts: Fact[] = [{ title: "Completed stage", value: clip(stage.name, valueChars) }];
  const took = stage.startTime ? elapsedMs(stage.startTime, stage.endTime, now) : undefined;
  if (took !== undefined) facts.push({ title: "Took", value: formatDuration(took) });
  facts.push({
    title: "Next stage",
    value: next ? `${clip(next.name, valueChars)} (${statusWords(next.status)})` : "none",
  });
  return [
    sectionTitle("Stage completed"),
    { type: "FactSet", facts, spacing: "small" },
    ...regionsOf(stage, now, limits),
  ];
}

function waitingSection(rollout: RolloutView, input: NotificationCardInput, now: number): CardElement[] {
  const action = waitingAction(rollout);
  const stage = rollout.stages[focusStageIndex(rollout, "wait")];
  const facts: Fact[] = [];
  if (stage) facts.push({ title: "Waiting stage", value: clip(stage.name, valueChars) });
  // The stage that ran last is the evidence the approver weighs.
  const previous = stage
    ? rollout.stages.slice(0, rollout.stages.indexOf(stage)).findLast((s) => s.status === "Completed")
    : undefined;
  if (previous) {
    facts.push({
      title: "Last completed",
      value: `${clip(previous.name, nameChars)} · ${stageSummary(previous, now)}`,
    });
  }
  if (action) {
    facts.push({
      title: "Wait action",
      value: clip(action.reason ? `${action.actionId} (${action.reason})` : action.actionId, valueChars),
    });
    const since = parseTime(action.waitingSince);
    if (since !== undefined) facts.push({ title: "Waiting for", value: formatDuration(now - since) });
  }
  // The regions deployed since the last decided gate (FollowRollout's newRegions, by EV2's times)
  // and the stress verdict on them, next to the link to approve.
  const fresh = newRegionsOf(rollout);
  if (fresh.length > 0)
    facts.push({
      title: "Deployed since the last gate",
      value: clip(fresh.join(", "), valueChars),
    });
  if (input.stress) {
    const tested = input.stress.stageName ? ` · ${clip(input.stress.stageName, nameChars)}` : "";
    facts.push({ title: "Stress test", value: `${stressVerdict(input.stress)}${tested}` });
  }
  const approvalUrl = usableUrl(input.approvalUrl);
  const runUrl = usableUrl(input.runUrl);
  const links = [
    approvalUrl ? markdownLink("Review the approval", approvalUrl) : undefined,
    runUrl ? markdownLink("Open the pipeline run", runUrl) : undefined,
  ].filter(Boolean);
  const howTo =
    links.length > 0
      ? `Approve or reject it in Azure DevOps: ${links.join(" · ")}`
      : "Approve or reject it from the pipeline run in Azure DevOps.";
  const elements: CardElement[] = [sectionTitle("Approval needed")];
  if (facts.length > 0) elements.push({ type: "FactSet", facts, spacing: "small" });
  elements.push({ type: "TextBlock", text: howTo, wrap: true, spacing: "small" });
  return elements;
}

const telemetryMarks = { Pass: "✅", Fail: "❌", Inconclusive: "❔" } as const;

/** The telemetry verdict, then per region (failing ones first) its verdict and the figures that decided it. */
function telemetrySection(t: TelemetryForCard, limits: ListLimits): CardElement[] {
  const order = { Fail: 0, Inconclusive: 1, Pass: 2 } as const;
  const regions = [...t.regions].sort((a, b) => order[a.verdict] - order[b.verdict]);
  const shown = regions.slice(0, Math.max(1, limits.regions));
  const title = `Production telemetry: ${t.verdict}${t.enforced ? "" : " (shadow mode, not enforced)"}`;
  const elements: CardElement[] = [sectionTitle(title)];
  if (shown.length)
    elements.push({
      type: "FactSet",
      facts: shown.map((r) => ({
        title: clip(`${telemetryMarks[r.verdict]} ${r.region}`, nameChars),
        value: clip(r.figures, limits.messageChars),
      })),
      spacing: "small",
    });
  if (regions.length > shown.length)
    elements.push(moreLine(`… ${plural(regions.length - shown.length, "more region")}`));
  return elements;
}

function errorLocation(error: RolloutErrorView): string {
  return [error.stage, error.region]
    .filter(Boolean)
    .map((part) => clip(part!, nameChars))
    .join(" / ");
}

function failureSection(rollout: RolloutView, now: number, limits: ListLimits): CardElement[] {
  const stage = rollout.stages[focusStageIndex(rollout, "failure")];
  const error = primaryError(rollout);
  const failedRegion = error?.region ?? stage?.regions.find((r) => r.status === "Failed")?.name;
  const facts: Fact[] = [];
  if (stage) facts.push({ title: "Failed stage", value: clip(stage.name, valueChars) });
  if (failedRegion) facts.push({ title: "Region", value: clip(failedRegion, valueChars) });
  if (error) facts.push({ title: "Error code", value: clip(error.errorCode, valueChars) });
  const items: CardElement[] = [];
  if (facts.length > 0) items.push({ type: "FactSet", facts });
  if (error?.message)
    items.push({
      type: "TextBlock",
      text: clip(error.message, limits.messageChars),
      wrap: true,
      spacing: "small",
    });
  items.push({
    type: "TextBlock",
    text: `**What to do:** ${remediationFor(error?.errorCode ?? "")}`,
    wrap: true,
    spacing: "small",
  });
  const elements: CardElement[] = [
    sectionTitle("What failed"),
    { type: "Container", style: "attention", items, spacing: "small" },
  ];
  const others = (rollout.errors ?? []).filter((e) => e !== error);
  if (others.length > 0) {
    elements.push(
      { type: "TextBlock", text: "Other errors", weight: "bolder", wrap: true, spacing: "medium" },
      ...errorList(others, limits.errors - 1, limits),
    );
  }
  if (stage) elements.push(...regionsOf(stage, now, limits));
  return elements;
}

/** Up to `max` of `errors`, newest first, then how many more there are. */
function errorList(errors: readonly RolloutErrorView[], max: number, limits: ListLimits): CardElement[] {
  if (errors.length === 0) return [];
  const shown = max > 0 ? errors.slice(-max).reverse() : [];
  const elements: CardElement[] = [];
  for (const e of shown) {
    const where = errorLocation(e);
    const message = e.message ? `: ${clip(e.message, Math.floor(limits.messageChars / 2))}` : "";
    elements.push({
      type: "TextBlock",
      text: `**${clip(e.errorCode, nameChars)}**${where ? ` at ${where}` : ""}${message}`,
      wrap: true,
      spacing: "small",
    });
    elements.push({
      type: "TextBlock",
      text: remediationFor(e.errorCode),
      wrap: true,
      isSubtle: true,
      spacing: "none",
    });
  }
  const hidden = errors.length - shown.length;
  if (hidden > 0) {
    elements.push(
      moreLine(`… and ${hidden} more ${hidden === 1 ? "error" : "errors"} (see the EV2 dashboard)`),
    );
  }
  return elements;
}

/** The wait action whose rejection cancelled the rollout, if that is what happened. */
function rejection(rollout: RolloutView) {
  return (rollout.waitActions ?? []).findLast((a) => a.status === "Rejected");
}

function cancellationSection(rollout: RolloutView, limits: ListLimits): CardElement[] {
  const rejected = rejection(rollout);
  const errors = rollout.errors ?? [];
  const elements: CardElement[] = [];
  if (rejected) {
    const facts: Fact[] = [
      { title: "Rejected stage", value: clip(rejected.stage, valueChars) },
      { title: "Wait action", value: clip(rejected.actionId, valueChars) },
    ];
    if (rejected.decidedBy) facts.push({ title: "Rejected by", value: clip(rejected.decidedBy, valueChars) });
    if (rejected.comment)
      facts.push({ title: "Comment", value: clip(rejected.comment, limits.messageChars) });
    elements.push(sectionTitle("Rejected"), { type: "FactSet", facts, spacing: "small" });
    elements.push({
      type: "TextBlock",
      text: `**What to do:** ${
        // GateApproval's automatic decisions are recorded as "Automatic gate (…)": no person rejected it.
        /^Automatic gate\b/.test(rejected.decidedBy ?? "")
          ? "The automatic gate rejected the rollout at a wait action on the evidence in its comment, which cancelled it: fix what the evidence shows, then start a new rollout."
          : remediationFor("RejectedAtWaitAction")
      }`,
      wrap: true,
      spacing: "small",
    });
    elements.push(
      ...errorList(
        errors.filter((e) => !/reject/i.test(e.errorCode)),
        limits.errors - 1,
        limits,
      ),
    );
  } else if (errors.length > 0) {
    elements.push(
      sectionTitle("Errors before the cancellation"),
      ...errorList(errors, limits.errors, limits),
    );
  }
  return elements;
}

/** Why the rollback happened: the bad rollout, what went wrong in it, and how fast safety came. */
function rollbackSection(
  rollback: RollbackForCard,
  rollout: RolloutView,
  now: number,
  limits: ListLimits,
): CardElement[] {
  const bad = rollback.rolledBack;
  const facts: Fact[] = [{ title: "Rolled back", value: clip(rollback.rolledBackRolloutId, valueChars) }];
  if (bad) {
    facts.push(
      { title: "Bad version", value: clip(bad.artifactVersionNumber, valueChars) },
      { title: "Its status", value: statusLabel(bad.status) },
    );
  }
  if (rollback.timeToSafetySeconds !== undefined && Number.isFinite(rollback.timeToSafetySeconds)) {
    facts.push({
      title: "Time to safety",
      value: `${formatDuration(rollback.timeToSafetySeconds * 1000)} (bad verdict → rollback accepted by EV2)`,
    });
  }
  if (bad)
    facts.push({
      title: "Mitigated",
      value: clip(mitigatedText(bad, rollout, rollback, limits), valueChars * 2),
    });
  const elements: CardElement[] = [sectionTitle("Why"), { type: "FactSet", facts, spacing: "small" }];
  if (!bad) return elements;
  // What went wrong in the bad rollout, as its own failed or cancelled card would say it.
  if (bad.status === "Failed") return [...elements, ...failureSection(bad, now, limits)];
  const rejected = rejection(bad);
  if (rejected || (bad.errors ?? []).length > 0) return [...elements, ...cancellationSection(bad, limits)];
  return elements;
}

/** Whether every region that got the bad version is back on the good one, and how fast. */
function mitigatedText(
  bad: RolloutView,
  rollout: RolloutView,
  rollback: RollbackForCard,
  limits: ListLimits,
): string {
  const m = mitigationOf(bad, rollout, rollback.timeToSafetySeconds);
  const back = `${m.restored.length} of ${plural(m.regions.length, "region")} back on ${m.goodVersion}`;
  if (m.mitigatedAt !== null) {
    const total =
      m.timeToMitigatedSeconds === null
        ? ""
        : `; ${formatDuration(m.timeToMitigatedSeconds * 1000)} from the bad verdict`;
    return `Yes: ${back}, ${formatDuration(m.rollbackSeconds! * 1000)} after EV2 accepted the rollback${total}`;
  }
  const left = [...m.pending, ...m.notCovered];
  const shown = Math.max(1, limits.regions);
  return `Not yet: ${back}; not back yet: ${left.slice(0, shown).join(", ")}${left.length > shown ? ` and ${left.length - shown} more` : ""}`;
}

/** `p50 12.4 ms · p95 48 ms · p99 91.7 ms · errors 0% · 241.3 rps` */
function stressFigures(f: StressFiguresForCard): string {
  return `p50 ${formatMs(f.p50Ms)} · p95 ${formatMs(f.p95Ms)} · p99 ${formatMs(f.p99Ms)} · errors ${formatPercent(f.errorRate)} · ${formatRate(f.rps)}`;
}

function stressVerdict(stress: StressSummaryForCard): string {
  const failedThresholds = stress.thresholds.filter((t) => !t.passed).length;
  if (stress.passed) return `Passed: ${plural(stress.thresholds.length, "threshold")} met`;
  if (stress.aborted && failedThresholds === 0) return "Failed: the run was stopped before the end";
  const verdict = `Failed: ${failedThresholds} of ${plural(stress.thresholds.length, "threshold")} not met`;
  return stress.aborted ? `${verdict} (the run was stopped before the end)` : verdict;
}

function stressSection(stress: StressSummaryForCard, limits: ListLimits): CardElement[] {
  const facts: Fact[] = [{ title: "Verdict", value: stressVerdict(stress) }];
  if (stress.stageName) facts.push({ title: "Stage tested", value: clip(stress.stageName, valueChars) });
  if (stress.durationSeconds !== undefined)
    facts.push({ title: "Load for", value: formatDuration(stress.durationSeconds * 1000) });
  if (stress.earlyAbort) facts.push({ title: "Stopped early", value: clip(stress.earlyAbort, valueChars) });
  // One endpoint's figures are the overall ones: show them once.
  if (stress.overall && stress.endpoints.length !== 1)
    facts.push({ title: "All endpoints", value: stressFigures(stress.overall) });
  const elements: CardElement[] = [sectionTitle("Stress test"), { type: "FactSet", facts, spacing: "small" }];

  if (stress.thresholds.length > 0) {
    // Failed thresholds first: they are the reason for the verdict.
    const ordered = [...stress.thresholds].sort((a, b) => Number(a.passed) - Number(b.passed));
    const shown = ordered.slice(0, limits.thresholds);
    elements.push({ type: "TextBlock", text: "Thresholds", weight: "bolder", wrap: true, spacing: "medium" });
    for (const t of shown) {
      const observed =
        t.observed === undefined || t.observed === "" ? "" : ` (observed ${clip(String(t.observed), 40)})`;
      const color: TextColor = t.passed ? "good" : "attention";
      elements.push({
        type: "TextBlock",
        text: `${t.passed ? "✅" : "❌"} ${clip(t.expression, 100)}${observed}`,
        color,
        wrap: true,
        spacing: "small",
      });
    }
    const hidden = ordered.length - shown.length;
    if (hidden > 0)
      elements.push(moreLine(`… and ${hidden} more ${hidden === 1 ? "threshold" : "thresholds"}`));
  }

  if (stress.endpoints.length > 0) {
    const shown = stress.endpoints.slice(0, limits.endpoints);
    elements.push({ type: "TextBlock", text: "Endpoints", weight: "bolder", wrap: true, spacing: "medium" });
    for (const e of shown) {
      const name = e.name ?? e.url ?? "endpoint";
      elements.push({
        type: "TextBlock",
        text: clip(name, 120),
        weight: "bolder",
        wrap: true,
        spacing: "small",
      });
      elements.push({
        type: "TextBlock",
        text: stressFigures(e),
        isSubtle: true,
        wrap: true,
        spacing: "none",
      });
    }
    const hidden = stress.endpoints.length - shown.length;
    if (hidden > 0)
      elements.push(moreLine(`… and ${hidden} more ${hidden === 1 ? "endpoint" : "endpoints"}`));
  }
  return elements;
}

function linkActions(kind: NotificationKind, input: NotificationCardInput): OpenUrlAction[] {
  const actions: OpenUrlAction[] = [];
  const approvalUrl = usableUrl(input.approvalUrl);
  const runUrl = usableUrl(input.runUrl);
  const dashboardUrl = usableUrl(input.rollout?.dashboardUrl);
  // Whatever the card is about, a rollout that waits needs its approver to find the gate.
  if (approvalUrl && (kind === "waitingForApproval" || input.rollout?.status === "Waiting")) {
    actions.push({ type: "Action.OpenUrl", title: "Review the approval", url: approvalUrl });
  }
  if (runUrl) actions.push({ type: "Action.OpenUrl", title: "Open the pipeline run", url: runUrl });
  if (dashboardUrl) actions.push({ type: "Action.OpenUrl", title: "Open in EV2", url: dashboardUrl });
  return actions;
}

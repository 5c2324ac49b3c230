/**
 * JUnit XML for PublishTestResults: one test case per threshold and scope (overall, or an
 * endpoint), failures saying what was observed against what limit; a failed case per endpoint
 * that never became ready. With a baseline, one more case per scope carries the changes and the
 * distribution test in its output; it passes, since only thresholds decide.
 */
import { describeScopeComparison, scopeLabel } from "./baseline-report";
import { describeNotReady, type StressResultDocument } from "./result";
import { describeEarlyAbort } from "./sliding-window";
import type { ThresholdVerdict } from "./thresholds";

function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/g, "");
}

function scopeName(v: ThresholdVerdict): string {
  return v.scope === "overall" ? "overall" : (v.endpoint ?? "endpoint");
}

export interface JUnitOptions {
  /** The test suite's name, e.g. "Stress test eastus"; default "Stress test". */
  suiteName?: string;
}

export function renderJUnitXml(doc: StressResultDocument, options: JUnitOptions = {}): string {
  const suiteName = options.suiteName ?? "Stress test";
  const seconds = doc.measuredSeconds.toFixed(3);
  const cases: string[] = [];
  let failures = 0;
  for (const n of doc.notReady ?? []) {
    failures++;
    cases.push(
      `    <testcase classname="${escapeXml(suiteName)}" name="${escapeXml(`${n.endpoint}: became ready`)}" time="${seconds}">\n      <failure message="endpoint never became ready" type="readiness">${escapeXml(describeNotReady(n))}</failure>\n    </testcase>`,
    );
  }
  for (const v of doc.thresholds) {
    const name = `${scopeName(v)}: ${v.threshold}`;
    // One class for all cases: ADO reads dots in a class name as namespaces, and URLs have dots.
    const head = `    <testcase classname="${escapeXml(suiteName)}" name="${escapeXml(name)}" time="${seconds}">`;
    if (v.passed) {
      cases.push(`${head}\n      <system-out>${escapeXml(v.message)}</system-out>\n    </testcase>`);
    } else {
      failures++;
      const detail = `thresholds line ${v.line} "${v.threshold}" failed for ${scopeName(v)}: ${v.message}`;
      cases.push(
        `${head}\n      <failure message="${escapeXml(v.message)}" type="threshold">${escapeXml(detail)}</failure>\n    </testcase>`,
      );
    }
  }
  if (doc.baseline) {
    const source = `Baseline: ${doc.baseline.source} (run started ${doc.baseline.startedAt}).`;
    for (const scope of [doc.baseline.overall, ...doc.baseline.endpoints]) {
      const out = [
        source,
        ...doc.baseline.notes.map((n) => `Note: ${n}.`),
        ...describeScopeComparison(scope),
      ];
      cases.push(
        `    <testcase classname="${escapeXml(suiteName)}" name="${escapeXml(`${scopeLabel(scope)}: compared with baseline`)}" time="${seconds}">\n      <system-out>${escapeXml(out.join("\n"))}</system-out>\n    </testcase>`,
      );
    }
  }
  if (doc.earlyAbort) {
    failures++;
    const message = describeEarlyAbort(doc.earlyAbort);
    const detail = `${message}; the figures cover the ${doc.measuredSeconds} s measured of the ${doc.load.durationSeconds} s configured`;
    cases.push(
      `    <testcase classname="${escapeXml(suiteName)}" name="load ran to the end" time="${seconds}">\n      <failure message="${escapeXml(message)}" type="earlyAbort">${escapeXml(detail)}</failure>\n    </testcase>`,
    );
  }
  if (doc.aborted) {
    failures++;
    const message = `the run was cancelled after ${doc.measuredSeconds} s of measurement; figures are partial`;
    cases.push(
      `    <testcase classname="${escapeXml(suiteName)}" name="run completed" time="${seconds}">\n      <failure message="${escapeXml(message)}" type="aborted">${escapeXml(message)}</failure>\n    </testcase>`,
    );
  }
  const tests = cases.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(suiteName)}" tests="${tests}" failures="${failures}" errors="0" time="${seconds}">`,
    `  <testsuite name="${escapeXml(suiteName)}" tests="${tests}" failures="${failures}" errors="0" skipped="0" time="${seconds}" timestamp="${escapeXml(doc.startedAt)}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

// Regenerates the README / Marketplace pictures in images/ from real outputs of the project:
// runs the demo scenarios into a temp folder, renders the Teams cards the sink received with the
// Adaptive Cards renderer (Teams-like light host config) and the task summaries as the Extensions
// tab of a build shows them, and screenshots each page with Debian's headless Chromium.
//
//   node scripts/screenshots.mjs        (needs /usr/bin/chromium: apt-get install chromium)
//
// Fonts: Segoe UI is not on Linux, so the pages fall back to Open Sans (fonts-open-sans), the
// closest free humanist sans; emoji come from fonts-noto-color-emoji.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { marked } from "marked";

const root = resolve(import.meta.dirname, "..");
const imagesDir = join(root, "images");
const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
/** Without the networking switches headless Chromium hangs on refused connections here. */
const chromiumSwitches = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--hide-scrollbars",
  // --force-device-scale-factor above 1 gives blank --screenshot output; pages use CSS zoom instead.
  "--force-device-scale-factor=1",
];
/** Card pages render at this CSS zoom so the PNGs stay sharp when GitHub shows them ~850 px wide. */
const cardZoom = 1.4;

function fail(message) {
  process.stderr.write(`screenshots: ${message}\n`);
  process.exit(1);
}

function run(command, args, what) {
  const r = spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0)
    fail(`${what} failed (exit ${r.status ?? r.signal}):\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------
// The demo runs

const scenarios = ["healthy", "failing-region", "ev2-failure"];

function runDemos(workDir) {
  if (!existsSync(join(root, "dist", "tasks"))) {
    process.stdout.write("building the tasks (dist/tasks is missing)\n");
    run(process.execPath, [join(root, "scripts", "build.mjs")], "npm run build");
  }
  const tsx = join(root, "node_modules", ".bin", "tsx");
  const outs = {};
  // One after the other: each demo starts its own simulators and keeps a core busy.
  for (const scenario of scenarios) {
    process.stdout.write(`demo --scenario ${scenario}\n`);
    const out = join(workDir, scenario);
    // A busy machine can make the healthy scenario's stress test miss its thresholds: rerun then.
    run(
      tsx,
      ["demo/run.ts", "--no-color", "--scenario", scenario, "--out", out],
      `demo --scenario ${scenario}`,
    );
    outs[scenario] = out;
  }
  return outs;
}

/** The card as Teams got it: the Workflows envelope carries it as the first attachment. */
function firstCard(demoOut) {
  const dir = join(demoOut, "teams-cards");
  const file = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()[0];
  if (!file) fail(`no Teams card in ${dir}`);
  const envelope = JSON.parse(readFileSync(join(dir, file), "utf8"));
  const card = envelope.attachments?.[0]?.content;
  if (card?.type !== "AdaptiveCard") fail(`${join(dir, file)} holds no Adaptive Card`);
  return card;
}

/**
 * A step's summary and the name the task uploaded it under: the agent names the attachment by
 * the file's name (extension included) and the Extensions tab titles the section with it. The
 * run folder keeps a copy named after the step.
 */
function stepSummary(demoOut, stage, job, step) {
  const copy = join(demoOut, "summaries", `${stage}.${job}.${step}.md`);
  if (!existsSync(copy)) fail(`no summary for step ${step}: ${copy}`);
  const markdown = readFileSync(copy, "utf8");
  const summariesDir = join(demoOut, "jobs", `${stage}.${job}`, "ev2-summaries");
  const uploaded = readdirSync(summariesDir, { recursive: true })
    .map((f) => join(summariesDir, String(f)))
    .find((f) => f.endsWith(".md") && readFileSync(f, "utf8") === markdown);
  return { markdown, title: basename(uploaded ?? copy) };
}

// ---------------------------------------------------------------------------------------------
// Pages

const fontStack = `"Segoe UI", "Open Sans", system-ui, "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji", sans-serif`;
const monoStack = `Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace`;
const escapeHtml = (s) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
/** JSON inside a <script> element: keep "</script>" in card text from ending it. */
const scriptJson = (value) => JSON.stringify(value).replace(/</g, "\\u003c");

/** After rendering, a page reports its content's size in its title for the first Chromium pass. */
const reportSize = `
  const box = document.getElementById("shot").getBoundingClientRect();
  document.title = "shot-size " + Math.ceil(box.right) + "x" + Math.ceil(box.bottom);`;

/** Teams' light theme, after the Teams host config of the Adaptive Cards designer. */
function teamsHostConfig() {
  const foregroundColors = {
    default: { default: "#242424", subtle: "#616161" },
    dark: { default: "#242424", subtle: "#616161" },
    light: { default: "#ffffff", subtle: "#f3f2f1" },
    accent: { default: "#5b5fc7", subtle: "#7f85f5" },
    good: { default: "#237b4b", subtle: "#3b8a5d" },
    warning: { default: "#835c00", subtle: "#a07a16" },
    attention: { default: "#c4314b", subtle: "#d1475f" },
  };
  const style = (backgroundColor) => ({ backgroundColor, foregroundColors });
  const fontSizes = { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 };
  const fontWeights = { lighter: 200, default: 400, bolder: 600 };
  return {
    supportsInteractivity: true,
    spacing: { small: 8, default: 12, medium: 16, large: 20, extraLarge: 24, padding: 16 },
    separator: { lineThickness: 1, lineColor: "#e0e0e0" },
    fontTypes: {
      default: { fontFamily: fontStack, fontSizes, fontWeights },
      monospace: { fontFamily: monoStack, fontSizes, fontWeights },
    },
    containerStyles: {
      default: style("#ffffff"),
      emphasis: style("#f5f5f5"),
      accent: style("#e8ebfa"),
      good: style("#e7f2da"),
      warning: style("#fbf6d9"),
      attention: style("#fcf4f6"),
    },
    actions: {
      maxActions: 6,
      spacing: "default",
      buttonSpacing: 8,
      showCard: { actionMode: "inline", inlineTopMargin: 16, style: "emphasis" },
      actionsOrientation: "horizontal",
      actionAlignment: "left",
    },
    factSet: {
      title: {
        size: "default",
        color: "default",
        isSubtle: false,
        weight: "bolder",
        wrap: true,
        maxWidth: 150,
      },
      value: { size: "default", color: "default", isSubtle: false, weight: "default", wrap: true },
      spacing: 16,
    },
  };
}

/** A Teams channel post from the Workflows app holding the card. */
function teamsCardPage(card) {
  const lib = (p) => pathToFileURL(join(root, "node_modules", p)).href;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>card</title>
<style>
  html, body { margin: 0; background: #f5f5f5; }
  #shot { zoom: ${cardZoom}; width: 600px; padding: 16px 20px 20px 16px; box-sizing: border-box;
    display: flex; gap: 10px; font-family: ${fontStack}; color: #242424; }
  .avatar { flex: none; width: 32px; height: 32px; border-radius: 6px; background: #0f6cbd; color: #fff;
    display: flex; align-items: center; justify-content: center; font-weight: 600; font-size: 14px; }
  .post { flex: auto; min-width: 0; background: #fff; border-radius: 6px; padding: 8px 16px 16px;
    box-shadow: 0 1px 2px rgba(0,0,0,.14), 0 0 2px rgba(0,0,0,.12); }
  .sender { font-size: 12px; margin-bottom: 8px; }
  .sender b { font-weight: 600; margin-right: 8px; }
  .sender span { color: #616161; }
  #card { border: 1px solid #e0e0e0; border-radius: 6px; overflow: hidden; }
  #card p { margin: 0; }
  #card a { color: #5b5fc7; text-decoration: none; }
  .ac-pushButton { font-family: ${fontStack}; font-size: 14px; font-weight: 600; color: #242424;
    background: #fff; border: 1px solid #d1d1d1; border-radius: 4px; padding: 5px 12px; min-height: 32px; }
</style>
<script src="${lib("marked/lib/marked.umd.js")}"></script>
<script src="${lib("adaptivecards/dist/adaptivecards.js")}"></script>
</head><body>
<div id="shot">
  <div class="avatar">W</div>
  <div class="post">
    <div class="sender"><b>Workflows</b><span>Azure Pipelines · EV2 rollout</span></div>
    <div id="card"></div>
  </div>
</div>
<script>
  // Teams renders the Markdown subset of TextBlocks (bold, italic, links, lists).
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = marked.parseInline(text);
    result.didProcess = true;
  };
  const card = new AdaptiveCards.AdaptiveCard();
  card.hostConfig = new AdaptiveCards.HostConfig(${scriptJson(teamsHostConfig())});
  card.parse(${scriptJson(card)});
  document.getElementById("card").appendChild(card.render());
  ${reportSize}
</script>
</body></html>`;
}

/**
 * Lets URLs and paths wrap after their slashes and "?" rather than overflow their table
 * column. Touches text between tags only ("&" is left alone: it starts HTML entities).
 */
const breakableUrls = (html) =>
  html.replace(/>([^<]+)</g, (_, text) => `>${text.replace(/([/?])(?=[^/?\s])/g, "$1<wbr>")}<`);

/** The Extensions tab of a build's results page with one uploaded summary section. */
function summaryPage({ markdown, title }, { width, zoom }) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>summary</title>
<style>
  html, body { margin: 0; background: #f8f8f8; }
  #shot { zoom: ${zoom}; width: ${width}px; box-sizing: border-box; font-family: ${fontStack};
    font-size: 14px; line-height: 20px; color: rgba(0,0,0,.9); padding-bottom: 20px; }
  .tabs { display: flex; gap: 24px; padding: 0 24px; background: #fff; border-bottom: 1px solid #eaeaea; }
  .tab { padding: 12px 0 10px; color: rgba(0,0,0,.55); border-bottom: 2px solid transparent; }
  .tab.selected { color: rgba(0,0,0,.9); font-weight: 600; border-bottom-color: #0078d4; }
  .section { margin: 16px 20px 0; background: #fff; border-radius: 4px;
    box-shadow: 0 1.6px 3.6px rgba(0,0,0,.13), 0 .3px .9px rgba(0,0,0,.11); }
  .section-head { display: flex; align-items: center; gap: 10px; padding: 12px 20px;
    font-size: 15px; font-weight: 600; border-bottom: 1px solid #eaeaea; }
  .chevron { width: 7px; height: 7px; border-right: 1.5px solid #555; border-bottom: 1.5px solid #555;
    transform: rotate(45deg); margin: -4px 2px 0; }
  .markdown { padding: 4px 20px 16px; }
  .markdown p, .markdown li { overflow-wrap: break-word; }
  .markdown h2 { font-size: 20px; line-height: 28px; font-weight: 600; margin: 16px 0 8px; }
  .markdown h3 { font-size: 16px; line-height: 24px; font-weight: 600; margin: 16px 0 8px; }
  .markdown p, .markdown ul { margin: 8px 0; }
  .markdown ul { padding-left: 24px; }
  .markdown a { color: #0078d4; text-decoration: none; }
  .markdown table { border-collapse: collapse; margin: 8px 0 12px; }
  .markdown th, .markdown td { border: 1px solid #e0e0e0; padding: 4px 10px; vertical-align: top; }
  .markdown th { font-weight: 600; background: #f8f8f8; text-align: left; white-space: nowrap; }
  .markdown td[align="right"] { white-space: nowrap; }
  .markdown code { font-family: ${monoStack}; font-size: 12.5px; background: rgba(0,0,0,.05);
    border-radius: 2px; padding: 1px 3px; }
  .markdown pre { background: #f4f4f4; border-radius: 4px; padding: 8px 12px; overflow: hidden; }
  .markdown pre code { background: none; padding: 0; font-size: 12.5px; line-height: 17px; }
</style></head><body>
<div id="shot">
  <div class="tabs"><div class="tab">Summary</div><div class="tab">Tests</div><div class="tab selected">Extensions</div></div>
  <div class="section">
    <div class="section-head"><div class="chevron"></div>${escapeHtml(title)}</div>
    <div class="markdown">${breakableUrls(marked.parse(markdown))}</div>
  </div>
</div>
<script>${reportSize}</script>
</body></html>`;
}

// ---------------------------------------------------------------------------------------------
// Chromium

function chromiumRun(workDir, args) {
  const profile = mkdtempSync(join(workDir, "profile-"));
  const r = spawnSync(chromium, [...chromiumSwitches, `--user-data-dir=${profile}`, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  rmSync(profile, { recursive: true, force: true });
  if (r.status !== 0) fail(`chromium ${args.at(-1)} failed (exit ${r.status ?? r.signal}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * Two passes: the first loads the page to learn its content's size (the page writes it into its
 * title), the second screenshots a window of exactly that size, so the PNG is cropped to content.
 */
function screenshot(workDir, name, html) {
  const page = join(workDir, `${name}.html`);
  writeFileSync(page, html);
  const url = pathToFileURL(page).href;
  const dom = chromiumRun(workDir, ["--window-size=1600,1000", "--dump-dom", url]);
  const size = /shot-size (\d+)x(\d+)/.exec(dom);
  if (!size) fail(`${page} did not report its size (did the renderer throw?)`);
  const [width, height] = [Number(size[1]), Number(size[2])];
  const png = join(imagesDir, `${name}.png`);
  chromiumRun(workDir, [`--window-size=${width},${height}`, `--screenshot=${png}`, url]);
  const kb = statSync(png).size / 1024;
  process.stdout.write(`  images/${name}.png  ${width}x${height}  ${kb.toFixed(0)} KB\n`);
  if (kb > 200) process.stdout.write(`  (over 200 KB: consider a narrower page)\n`);
}

// ---------------------------------------------------------------------------------------------

function main() {
  if (!existsSync(chromium)) {
    fail(`${chromium} not found. Install Debian's Chromium and the fonts the pages use:
  apt-get install chromium fonts-open-sans fonts-noto-color-emoji fonts-dejavu-core
(or point CHROMIUM at another Chromium binary)`);
  }
  const workDir = mkdtempSync(join(tmpdir(), "ev2-shots-"));
  try {
    const demo = runDemos(workDir);
    mkdirSync(imagesDir, { recursive: true });
    process.stdout.write("rendering\n");
    screenshot(workDir, "teams-card-completed", teamsCardPage(firstCard(demo.healthy)));
    screenshot(workDir, "teams-card-rolled-back", teamsCardPage(firstCard(demo["failing-region"])));
    screenshot(workDir, "teams-card-ev2-failure", teamsCardPage(firstCard(demo["ev2-failure"])));
    const summary = (scenario, step) => stepSummary(demo[scenario], "Rollout_PPE", "rollout", step);
    screenshot(workDir, "summary-follow", summaryPage(summary("healthy", "toEnd"), { width: 880, zoom: 1 }));
    screenshot(
      workDir,
      "summary-stress",
      summaryPage(summary("failing-region", "stress"), { width: 980, zoom: 1 }),
    );
    screenshot(
      workDir,
      "summary-gate",
      summaryPage(summary("failing-region", "gate"), { width: 880, zoom: 1 }),
    );
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main();

import assert from "node:assert/strict";
import {
  branchNameProblem,
  BranchTemplateError,
  defaultTrackingBranchTemplate,
  renderBranchTemplate,
  sanitizeBranchName,
  type BranchTemplateTokens,
} from "../../shared/ado/branch-name";

const tokens: BranchTemplateTokens = {
  environment: "Prod",
  serviceGroup: "Microsoft.Contoso.Web",
  artifactVersion: "1.4.2",
  buildId: 20240501,
  date: new Date("2024-05-01T23:59:00Z"),
  rolloutId: "9f1c2d3e-0000-4000-8000-000000000001",
};

describe("renderBranchTemplate", () => {
  const cases: Array<{
    title: string;
    template: string;
    tokens?: Partial<BranchTemplateTokens>;
    expected: string;
  }> = [
    {
      title: "the default template",
      template: defaultTrackingBranchTemplate,
      expected: "ev2/Prod/1.4.2-20240501",
    },
    {
      title: "every token",
      template: "{serviceGroup}/{environment}/{date}/{rolloutId}",
      expected: "Microsoft.Contoso.Web/Prod/2024-05-01/9f1c2d3e-0000-4000-8000-000000000001",
    },
    {
      title: "a date given as text",
      template: "rollouts/{date}",
      tokens: { date: "May 1st" },
      expected: "rollouts/May-1st",
    },
    {
      title: "spaces in a value",
      template: "ev2/{environment}",
      tokens: { environment: "West Europe prod" },
      expected: "ev2/West-Europe-prod",
    },
    {
      title: "a slash in a value does not add a folder",
      template: "ev2/{environment}",
      tokens: { environment: "eu/west" },
      expected: "ev2/eu-west",
    },
    {
      title: "'..' in a value",
      template: "ev2/{artifactVersion}",
      tokens: { artifactVersion: "1..2" },
      expected: "ev2/1.2",
    },
    {
      title: "git's forbidden characters",
      template: "ev2/{artifactVersion}",
      tokens: { artifactVersion: "a~b^c:d?e*f[g\\h" },
      expected: "ev2/a-b-c-d-e-f-g-h",
    },
    {
      title: "a '+' build suffix",
      template: "ev2/{artifactVersion}",
      tokens: { artifactVersion: "1.4.2+build.7" },
      expected: "ev2/1.4.2-build.7",
    },
    {
      title: "a value ending in .lock",
      template: "ev2/{environment}",
      tokens: { environment: "prod.lock" },
      expected: "ev2/prod-lock",
    },
    {
      title: "a literal part ending in .lock",
      template: "ev2.lock/{environment}",
      expected: "ev2-lock/Prod",
    },
    { title: "a component starting with '.'", template: ".hidden/{environment}", expected: "hidden/Prod" },
    { title: "a trailing slash", template: "ev2/{environment}/", expected: "ev2/Prod" },
    { title: "a leading slash and '//'", template: "/ev2//{environment}", expected: "ev2/Prod" },
    { title: "a trailing dot", template: "ev2/{environment}.", expected: "ev2/Prod" },
    { title: "a refs/heads/ prefix", template: "refs/heads/ev2/{environment}", expected: "ev2/Prod" },
    { title: "'@{' and a leading '-'", template: "-ev2@{environment}", expected: "ev2-Prod" },
    { title: "spaces inside braces", template: "ev2/{ environment }", expected: "ev2/Prod" },
  ];
  for (const c of cases) {
    it(`renders ${c.title}`, () => {
      const rendered = renderBranchTemplate(c.template, { ...tokens, ...c.tokens });
      assert.equal(rendered, c.expected);
      assert.equal(branchNameProblem(rendered), undefined, `'${rendered}' must be a valid branch name`);
    });
  }

  const errors: Array<{
    title: string;
    template: string;
    tokens?: Partial<BranchTemplateTokens>;
    message: string;
  }> = [
    {
      title: "an unknown token, listing the valid ones",
      template: "ev2/{region}",
      message:
        "Unknown token {region} in tracking branch template 'ev2/{region}'. Valid tokens: {environment}, {serviceGroup}, {artifactVersion}, {buildId}, {date}, {rolloutId}.",
    },
    {
      title: "a token in the wrong case, with a hint",
      template: "ev2/{Environment}",
      message:
        "Unknown token {Environment} in tracking branch template 'ev2/{Environment}'. Valid tokens: {environment}, {serviceGroup}, {artifactVersion}, {buildId}, {date}, {rolloutId}. Did you mean {environment}? Token names are case-sensitive.",
    },
    {
      title: "an empty token",
      template: "ev2/{}",
      message:
        "Unknown token {} in tracking branch template 'ev2/{}'. Valid tokens: {environment}, {serviceGroup}, {artifactVersion}, {buildId}, {date}, {rolloutId}.",
    },
    {
      title: "an unclosed brace",
      template: "ev2/{environment",
      message:
        "Tracking branch template 'ev2/{environment' has a '{' or '}' that is not part of a token. Valid tokens: {environment}, {serviceGroup}, {artifactVersion}, {buildId}, {date}, {rolloutId}.",
    },
    {
      title: "a token without a value",
      template: "ev2/{rolloutId}",
      tokens: { rolloutId: "  " },
      message: "Token {rolloutId} in tracking branch template 'ev2/{rolloutId}' has no value.",
    },
    {
      title: "nothing usable left",
      template: "/../",
      message: "Tracking branch template '/../' renders to an empty branch name.",
    },
  ];
  for (const c of errors) {
    it(`rejects ${c.title}`, () => {
      assert.throws(
        () => renderBranchTemplate(c.template, { ...tokens, ...c.tokens }),
        (err: unknown) => err instanceof BranchTemplateError && err.message === c.message,
      );
    });
  }
});

describe("sanitizeBranchName", () => {
  it("leaves a valid name alone", () => {
    assert.equal(sanitizeBranchName("ev2/prod/1.4.2-17"), "ev2/prod/1.4.2-17");
  });
  it("turns control characters into '-'", () => {
    assert.equal(sanitizeBranchName("ev2/a\tb\x7fc"), "ev2/a-b-c");
  });
});

describe("branchNameProblem", () => {
  const cases: Array<[string, string | undefined]> = [
    ["ev2/prod/1.4.2-17", undefined],
    ["", "it is empty"],
    ["ev2/my branch", "it contains a space"],
    ["ev2/a~1", "it contains '~'"],
    ["ev2/a\\b", "it contains '\\'"],
    ["ev2/a\tb", "it contains '\\x09'"],
    ["ev2/a..b", "it contains '..'"],
    ["ev2/a@{1}", "it contains '@{'"],
    ["@", "it is '@'"],
    ["-ev2", "it starts with '-'"],
    ["/ev2", "it starts or ends with '/'"],
    ["ev2/", "it starts or ends with '/'"],
    ["ev2//a", "it contains '//'"],
    ["ev2/a.", "it ends with '.'"],
    ["ev2/.a", "its part '.a' starts with '.' or ends with '.lock'"],
    ["ev2.lock/a", "its part 'ev2.lock' starts with '.' or ends with '.lock'"],
  ];
  for (const [name, problem] of cases) {
    it(`${JSON.stringify(name)} → ${problem ?? "valid"}`, () => {
      assert.equal(branchNameProblem(name), problem);
    });
  }
});

import assert from "node:assert/strict";
import { marked } from "marked";
import { markdownTable, md, mdCode, mdJoin, mdLink, mdText, safeHttpUrl } from "../../shared/markdown";

/** What hostile EV2 text tries to become; each must stay text. */
const hostile = [
  '<img src=x onerror="alert(1)">',
  "<script>alert(1)</script>",
  "[click](javascript:alert(1))",
  "![x](https://evil.example/x.png)",
  "<javascript:alert(1)>",
  "a | b\n| --- |\nc",
  "\u001b[31mred\u001b[0m",
  "##vso[task.setvariable variable=pwned]1",
  "# heading",
  "1. list",
  "- list",
  "x\\|y",
  "`code` ends",
  "\u202Ereversed",
];

describe("markdown: outside text stays text", () => {
  for (const text of hostile) {
    it(`inert: ${JSON.stringify(text)}`, () => {
      const html = marked.parse(markdownTable(["Message"], [[text]]).source, { async: false });
      assert.doesNotMatch(html, /<(img|script|h\d|ol|ul|li|code)\b/i, html);
      // A bare http(s) URL may be linked by the renderer; no other link may appear.
      for (const [, href] of html.matchAll(/<a [^>]*href="([^"]*)"/g)) assert.match(href, /^https?:\/\//);
      // Still one row: nothing broke out of the cell.
      assert.equal((html.match(/<tr>/g) ?? []).length, 2, html);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(mdText(text), /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]|##vso\[/);
    });
  }

  it("renders the text it escaped as that text", () => {
    const html = marked.parse(md`${"a < b & [c] | d_e"}`.source, { async: false });
    assert.equal(html.trim(), "<p>a &lt; b &amp; [c] | d_e</p>");
  });

  it("a line that starts with outside text cannot become a heading, list or quote", () => {
    for (const text of ["# heading", "- item", "1. item", "> quote", "+ item"]) {
      const html = marked.parse(md`${text}`.source, { async: false });
      assert.equal(html.trim(), `<p>${text.replace(">", "&gt;")}</p>`);
    }
    assert.equal(md`${"0.5%"} and ${"-"}`.source, "0.5% and -");
  });

  it("links only http(s) URLs, encoded so they cannot end the link", () => {
    assert.equal(String(mdLink("EV2 dashboard", "javascript:alert(1)")), "EV2 dashboard");
    assert.equal(String(mdLink("EV2 dashboard", "data:text/html,x")), "EV2 dashboard");
    assert.equal(String(mdLink("EV2 dashboard", "not a url")), "EV2 dashboard");
    assert.equal(
      String(mdLink("d", "https://ev2.example/a b)(c|d")),
      "[d](https://ev2.example/a%20b%29%28c%7Cd)",
    );
    assert.equal(safeHttpUrl("HTTPS://ev2.example/x"), "https://ev2.example/x");
    const html = marked.parse(String(mdLink("<b>x</b>", "https://ev2.example/)<script>")), { async: false });
    assert.doesNotMatch(html, /<script|<b>/);
    assert.match(html, /<a href="https:\/\/ev2\.example\/%29%3Cscript%3E">/);
  });

  it("code spans and joins escape their parts, not the separator", () => {
    assert.equal(mdCode("a`b|c\nd").source, "`a'b\\|c d`");
    assert.equal(mdJoin(["<x>", "y|z"], "<br>").source, "&lt;x><br>y\\|z");
  });
});

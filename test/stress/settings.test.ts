import assert from "node:assert/strict";
import {
  StressInputError,
  classifyRequestError,
  validateLoadSettings,
  type TransportErrorKind,
} from "../../shared/stress";

describe("stress settings", () => {
  it("fills defaults: 10 connections, 30 s, no warm-up, 10 s timeout, 60 s readiness", () => {
    assert.deepEqual(validateLoadSettings({}), {
      connections: 10,
      durationSeconds: 30,
      warmupSeconds: 0,
      timeoutMs: 10_000,
      readinessTimeoutSeconds: 60,
      pipelining: 1,
    });
  });

  it("caps a count-bounded run at the longest duration unless one is given", () => {
    assert.equal(validateLoadSettings({ requests: 1000 }).durationSeconds, 600);
    assert.equal(validateLoadSettings({ requests: 1000, durationSeconds: 20 }).durationSeconds, 20);
  });

  const bad: [Record<string, unknown>, string, string][] = [
    [{ connections: 0 }, "connections", "connections must be a whole number from 1 to 1000 (got 0)"],
    [{ connections: 1001 }, "connections", "connections must be a whole number from 1 to 1000 (got 1001)"],
    [{ connections: 2.5 }, "connections", "connections must be a whole number from 1 to 1000 (got 2.5)"],
    [{ connections: "ten" }, "connections", 'connections must be a whole number from 1 to 1000 (got "ten")'],
    [{ rate: 0 }, "rate", "rate must be a number greater than 0 and at most 100000 (got 0)"],
    [{ rate: 100_001 }, "rate", "rate must be a number greater than 0 and at most 100000 (got 100001)"],
    [
      { durationSeconds: 601 },
      "durationSeconds",
      "durationSeconds must be a number greater than 0 and at most 600 (got 601)",
    ],
    [{ warmupSeconds: -1 }, "warmupSeconds", "warmupSeconds must be a number from 0 to 300 (got -1)"],
    [{ timeoutMs: 0 }, "timeoutMs", "timeoutMs must be a whole number from 1 to 600000 (got 0)"],
    [
      { readinessTimeoutSeconds: 4000 },
      "readinessTimeoutSeconds",
      "readinessTimeoutSeconds must be a number from 0 to 3600 (got 4000)",
    ],
    [{ pipelining: 17 }, "pipelining", "pipelining must be a whole number from 1 to 16 (got 17)"],
    [{ requests: 0 }, "requests", "requests must be a whole number from 1 to 60000000 (got 0)"],
  ];
  for (const [raw, input, message] of bad) {
    it(`rejects ${JSON.stringify(raw)} naming ${input} and the valid range`, () => {
      assert.throws(
        () => validateLoadSettings(raw),
        (err: unknown) => err instanceof StressInputError && err.input === input && err.message === message,
      );
    });
  }

  it("lists every problem at once", () => {
    assert.throws(
      () => validateLoadSettings({ connections: 0, durationSeconds: 900 }),
      /^StressInputError: connections must be .* \(got 0\); durationSeconds must be .* \(got 900\)$/,
    );
  });
});

describe("stress error kinds", () => {
  const error = (code: string, message = "x", cause?: unknown) =>
    Object.assign(new Error(message), { code, cause });
  const cases: [string, unknown, TransportErrorKind][] = [
    ["headers timeout", error("UND_ERR_HEADERS_TIMEOUT"), "timeout"],
    ["body timeout", error("UND_ERR_BODY_TIMEOUT"), "timeout"],
    ["connect timeout", error("UND_ERR_CONNECT_TIMEOUT"), "timeout"],
    ["ETIMEDOUT", error("ETIMEDOUT"), "timeout"],
    ["ECONNRESET", error("ECONNRESET"), "reset"],
    ["EPIPE", error("EPIPE"), "reset"],
    ["other side closed", error("UND_ERR_SOCKET", "other side closed"), "reset"],
    ["refused", error("ECONNREFUSED"), "refused"],
    ["refused under a socket error", error("UND_ERR_SOCKET", "x", error("ECONNREFUSED")), "refused"],
    ["expired certificate", error("CERT_HAS_EXPIRED"), "tls"],
    ["self-signed", error("DEPTH_ZERO_SELF_SIGNED_CERT"), "tls"],
    ["altname", error("ERR_TLS_CERT_ALTNAME_INVALID"), "tls"],
    ["ssl", error("ERR_SSL_WRONG_VERSION_NUMBER"), "tls"],
    [
      "tls under a socket error",
      error("UND_ERR_SOCKET", "x", error("UNABLE_TO_VERIFY_LEAF_SIGNATURE")),
      "tls",
    ],
    ["message about certificates", new Error("unable to verify the first certificate"), "tls"],
    ["DNS", error("ENOTFOUND"), "other"],
    ["not an error", "boom", "other"],
  ];
  for (const [what, err, kind] of cases) {
    it(`${what} → ${kind}`, () => assert.equal(classifyRequestError(err), kind));
  }
});

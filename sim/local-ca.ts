/**
 * A certificate authority made on this machine with the openssl CLI, for the local stand-ins
 * that serve https (the Teams sink, test servers): their certificates come from it, and tasks
 * trust it as they trust an agent's CA bundle (`Agent.CAInfo`). Lives in sim/ because the local
 * runner and the demo use it through the Teams sink, not only the tests.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type ServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(
      `openssl ${args[0]} failed (the test CA needs the openssl CLI): ${stderr || String(err)}`,
    );
  }
}

const isIp = (name: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(name) || name.includes(":");

let serial = 0;

export interface IssuedCert {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface IssuedClientCert extends IssuedCert {
  pfxFile: string;
  pfxPassword: string;
}

export interface TestCa {
  caPem: string;
  caFile: string;
  issueServer(names: string[]): IssuedCert;
  issueClient(commonName: string): IssuedClientCert;
  dispose(): void;
}

export function createTestCa(name = "EV2 extension test CA"): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "test-ca-"));
  const caKey = join(dir, "ca.key");
  const caFile = join(dir, "ca.pem");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      caKey,
      "-out",
      caFile,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  function issue(base: string, subject: string, extensions: string[]): IssuedCert {
    const keyFile = join(dir, `${base}.key`);
    const csr = join(dir, `${base}.csr`);
    const certFile = join(dir, `${base}.pem`);
    const ext = join(dir, `${base}.ext`);
    writeFileSync(ext, extensions.join("\n") + "\n");
    openssl(["req", ...ec, "-keyout", keyFile, "-out", csr, "-subj", subject], dir);
    openssl(
      [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        caFile,
        "-CAkey",
        caKey,
        "-set_serial",
        String(Date.now() * 1e3 + ++serial),
        "-days",
        "2",
        "-out",
        certFile,
        "-extfile",
        ext,
      ],
      dir,
    );
    return {
      certPem: readFileSync(certFile, "utf8"),
      keyPem: readFileSync(keyFile, "utf8"),
      certFile,
      keyFile,
    };
  }
  return {
    caPem: readFileSync(caFile, "utf8"),
    caFile,
    issueServer(names) {
      if (names.length === 0) throw new Error("issueServer needs at least one name");
      const san = names.map((n) => (isIp(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
      return issue(`server-${++serial}`, `/CN=${names[0]}`, [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        `subjectAltName=${san}`,
      ]);
    },
    issueClient(commonName) {
      const cert = issue(`client-${++serial}`, `/CN=${commonName}`, [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=clientAuth",
      ]);
      const pfxFile = cert.certFile.replace(/\.pem$/, ".pfx");
      const pfxPassword = "test-pfx-password";
      openssl(
        [
          "pkcs12",
          "-export",
          "-inkey",
          cert.keyFile,
          "-in",
          cert.certFile,
          "-out",
          pfxFile,
          "-passout",
          `pass:${pfxPassword}`,
        ],
        dir,
      );
      return { ...cert, pfxFile, pfxPassword };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startTestHttpsServer(
  ca: TestCa,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  names: string[] = [],
  tls: ServerOptions = {},
): Promise<{ server: Server; url: string; port: number; close: () => Promise<void> }> {
  const cert = ca.issueServer(["127.0.0.1", "localhost", ...names]);
  const server = createServer({ cert: cert.certPem, key: cert.keyPem, ...tls }, handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

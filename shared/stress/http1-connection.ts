/**
 * The load engine's HTTP/1.1 client connection: one socket, one request sent over and over.
 *
 * The request is serialised once into a Buffer and written as it is each time; answers are
 * parsed in place (status line, then only the headers that frame the body) and their bodies
 * skipped, so a request costs one write, a little scanning and no allocation. Requests may be
 * pipelined; answers come back in order and complete the oldest request in flight.
 *
 * When the socket fails, the oldest request in flight fails with the error; the requests
 * behind it never got an answer and are sent again on a fresh connection (as undici does).
 * A connection is opened on the first send and again, lazily, after a failure.
 */
import * as net from "node:net";
import * as tls from "node:tls";
// The module's object, not the global: `globalThis.performance` is an accessor, a call on every read.
import { performance } from "node:perf_hooks";
import type { StressEndpoint } from "./endpoints";
import type { SocketRoute } from "../http/transport";
import { ConnectionClosedError, MalformedResponseError, StressInputError } from "./errors";

/** Told about the request it sent: one call per send, either way. */
export interface ResponseHandler {
  /** A complete answer, its body read and dropped; `now` is performance.now() at its end. */
  onResponse(status: number, now: number): void;
  /** No answer: the connection failed, was closed, or the request was cancelled. */
  onFailure(error: Error): void;
}

/** Where a connection goes and the exact bytes of the request it sends. */
export interface RequestTarget {
  host: string;
  port: number;
  tls: boolean;
  /** TLS options of the agent's certificates (roots, client certificate). */
  tlsOptions?: tls.ConnectionOptions;
  /**
   * The http proxy to go through: plain http is sent to it in absolute form, https through a
   * CONNECT tunnel opened before the TLS handshake.
   */
  proxy?: SocketRoute["proxy"];
  /** SNI name and the name the certificate must match; undefined for an IP address. */
  servername: string | undefined;
  request: Buffer;
  /** False for HEAD: answers carry no body whatever their headers say. */
  answersHaveBody: boolean;
}

// Header names the client sets itself; an endpoint's own would contradict the framing.
const FRAMING_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Tab, visible ASCII and obs-text, as undici accepts; CR, LF and NUL would split the request.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/**
 * The endpoint's request as bytes on the wire; a header that cannot be sent is an input error.
 * `route` (default: direct, Node's roots) says whether it goes through the agent's proxy.
 */
export function requestTarget(endpoint: StressEndpoint, route: SocketRoute = { tls: {} }): RequestTarget {
  const url = new URL(endpoint.url);
  const secure = url.protocol === "https:";
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const body = endpoint.body === undefined ? undefined : Buffer.from(endpoint.body);
  const absoluteForm = route.proxy !== undefined && !secure;
  const requestTarget = absoluteForm
    ? `${url.origin}${url.pathname}${url.search}`
    : `${url.pathname}${url.search}`;
  let head = `${endpoint.method} ${requestTarget} HTTP/1.1\r\n`;
  if (absoluteForm && route.proxy?.authorization)
    head += `proxy-authorization: ${route.proxy.authorization}\r\n`;
  const headers = Object.entries(endpoint.headers);
  if (!headers.some(([name]) => name.toLowerCase() === "host")) head += `host: ${url.host}\r\n`;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
      throw new StressInputError(
        `endpoint "${endpoint.name}": header "${TOKEN.test(name) ? name : "(invalid name)"}" cannot be sent: names are tokens and values have no line breaks`,
        "endpoints",
      );
    }
    if (!FRAMING_HEADERS.has(name.toLowerCase())) head += `${name}: ${value}\r\n`;
  }
  if (body !== undefined || METHODS_WITH_BODY.has(endpoint.method))
    head += `content-length: ${body?.length ?? 0}\r\n`;
  // HTTP/1.1 keeps connections open unless told otherwise: no Connection header to send or parse.
  head += "\r\n";
  const headBytes = Buffer.from(head, "latin1");
  return {
    host,
    port: Number(url.port) || (secure ? 443 : 80),
    tls: secure,
    servername: secure && net.isIP(host) === 0 ? host : undefined,
    tlsOptions: route.tls,
    ...(route.proxy ? { proxy: route.proxy } : {}),
    request: body === undefined ? headBytes : Buffer.concat([headBytes, body]),
    answersHaveBody: endpoint.method !== "HEAD",
  };
}

// Parser states.
const STATUS_LINE = 0;
const HEADER_LINE = 1;
const FIXED_BODY = 2;
const CHUNK_SIZE_LINE = 3;
const CHUNK_DATA = 4;
const CHUNK_END_LINE = 5;
const TRAILER_LINE = 6;
const BODY_UNTIL_CLOSE = 7;

/** Longest status line plus headers (or trailers, or chunk-size line) accepted. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Without a keep-alive hint, a connection idle this long is replaced before it is used again. */
const DEFAULT_IDLE_LIMIT_MS = 4000;
/** Taken off a server's keep-alive hint: its clock started when it sent, and it may close early. */
const IDLE_HINT_MARGIN_MS = 2000;

const CR = 13;
const LF = 10;
const COLON = 58;
const SPACE = 32;
const TAB = 9;
const lower = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const CONTENT_LENGTH = lower("content-length");
const TRANSFER_ENCODING = lower("transfer-encoding");
const CONNECTION = lower("connection");
const KEEP_ALIVE = lower("keep-alive");
const CHUNKED = lower("chunked");
const CLOSE = lower("close");
const TIMEOUT_IS = lower("timeout=");

/** Bytes s..s+word.length of buf equal the lower-case `word`, ignoring ASCII case. */
function matchesAt(buf: Uint8Array, s: number, word: Uint8Array): boolean {
  for (let k = 0; k < word.length; k++) if ((buf[s + k] | 0x20) !== word[k]) return false;
  return true;
}

function containsWord(buf: Uint8Array, s: number, e: number, word: Uint8Array): boolean {
  for (let i = s; i + word.length <= e; i++) if (matchesAt(buf, i, word)) return true;
  return false;
}

function isDigit(byte: number): boolean {
  return byte >= 48 && byte <= 57;
}

// Plain TCP reads go straight into this buffer (net's `onread`): no Buffer per read. Reads are
// handled synchronously one at a time, so every connection can share it.
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/** A head as it was read and what it said: taking it again gives the very same parser state. */
interface KnownHead {
  bytes: Buffer;
  status: number;
  http10: boolean;
  contentLength: number;
  chunked: boolean;
  otherEncoding: boolean;
  closeAfter: boolean;
  keepAlive: boolean;
  /** The idle limit its Keep-Alive hint set, or -1 when it had none. */
  idleLimitMs: number;
}

/** Misses beyond the hits after which a connection stops looking for a repeated head. */
const HEAD_MISSES_ALLOWED = 16;

/**
 * One HTTP/1.1 connection carrying one request target. The caller keeps the number of requests
 * in flight bounded (its pipelining depth); nothing here queues beyond the socket's buffer.
 */
export class Http1Connection {
  private socket: net.Socket | null = null;
  /** The proxy connection while its CONNECT is answered (https through a proxy only). */
  private tunnel: net.Socket | null = null;
  private closed = false;
  /**
   * Requests in flight, oldest first: queue[head..tail). The array keeps its length when it
   * empties (head and tail go back to 0), so a request allocates nothing here.
   */
  private queue: (ResponseHandler | undefined)[] = [];
  private head = 0;
  private tail = 0;
  private idleSince = 0;
  private idleLimitMs = DEFAULT_IDLE_LIMIT_MS;

  // Parser state of the answer being read.
  private state = STATUS_LINE;
  private status = 0;
  private http10 = false;
  private contentLength = -1;
  private chunked = false;
  private otherEncoding = false;
  private closeAfter = false;
  private keepAlive = false;
  private remaining = 0;
  private headBytes = 0;
  /** Bytes of an unfinished line, copied out of the read buffer. */
  private partial: Buffer | null = null;
  /** The head being read set the idle limit from a Keep-Alive hint. */
  private hintInHead = false;
  /**
   * The last final head read in one piece, byte for byte, with what it said. A server sends the
   * same head again and again (its Date changes once a second): an identical one is taken
   * without reading it line by line, which was most of the parsing work per answer.
   */
  private lastHead: KnownHead | null = null;
  private headHits = 0;
  private headMisses = 0;

  private readonly onRead = (bytes: number, buf: Uint8Array): boolean => {
    if (this.socket !== null) this.parse(this.socket, buf, bytes);
    return true;
  };

  constructor(readonly target: RequestTarget) {}

  get inFlight(): number {
    return this.tail - this.head;
  }

  /** Writes the request; `handler` hears back exactly once, never from within this call. */
  send(handler: ResponseHandler, now: number): void {
    if (this.closed) {
      process.nextTick(() => handler.onFailure(new ConnectionClosedError()));
      return;
    }
    // A server drops a keep-alive connection after its own idle timeout; a request written as
    // the close is on its way would fail for nothing. Replace a connection idle that long.
    if (this.socket !== null && this.inFlight === 0 && now - this.idleSince > this.idleLimitMs)
      this.dropSocket();
    this.queue[this.tail++] = handler;
    if (this.socket === null && this.tunnel === null) this.connect();
    // Through a tunnel still opening, the requests go out once it is up.
    this.socket?.write(this.target.request);
  }

  /** Fails the oldest request in flight with `error` (a timeout); the connection goes with it. */
  failOldest(error: Error): void {
    if (this.socket !== null && this.inFlight > 0) this.fail(this.socket, error);
    // A tunnel the proxy never answered: its failure handler fails the oldest request.
    else if (this.tunnel !== null && this.inFlight > 0) this.tunnel.destroy(error);
  }

  /** Closes the connection for good; every request in flight fails with `error`. */
  close(error: Error): void {
    this.closed = true;
    this.dropSocket();
    const failed = this.takeQueue();
    for (const handler of failed) handler?.onFailure(error);
  }

  private connect(): void {
    const { proxy } = this.target;
    if (proxy && this.target.tls) {
      this.openTunnel(proxy);
      return;
    }
    const { host, port } = proxy ?? this.target;
    this.use(
      this.target.tls
        ? tls.connect({
            ...this.target.tlsOptions,
            host,
            port,
            servername: this.target.servername,
            ALPNProtocols: ["http/1.1"],
          })
        : net.connect({ host, port, onread: { buffer: readBuffer, callback: this.onRead } }),
    );
  }

  /** CONNECT through the proxy, then TLS over the tunnel; the requests waiting go out after it. */
  private openTunnel(proxy: NonNullable<RequestTarget["proxy"]>): void {
    const raw = net.connect({ host: proxy.host, port: proxy.port });
    this.tunnel = raw;
    const authority = `${this.target.host.includes(":") ? `[${this.target.host}]` : this.target.host}:${this.target.port}`;
    raw.setNoDelay(true);
    raw.write(
      `CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n${proxy.authorization ? `proxy-authorization: ${proxy.authorization}\r\n` : ""}\r\n`,
    );
    let answer = Buffer.alloc(0);
    const failTunnel = (error: Error) => {
      if (this.tunnel !== raw) return;
      this.tunnel = null;
      raw.destroy();
      const waiting = this.takeQueue();
      const oldest = waiting.shift();
      if (waiting.length > 0 && !this.closed) {
        this.setQueue(waiting);
        this.connect();
      }
      oldest?.onFailure(error);
    };
    const onData = (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      const end = answer.indexOf("\r\n\r\n");
      if (end < 0) {
        if (answer.length > 16 * 1024)
          failTunnel(new MalformedResponseError("the proxy's answer to CONNECT is too long"));
        return;
      }
      raw.off("data", onData);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, end).toString("latin1"))?.[1];
      if (status !== "200") {
        failTunnel(new Error(`the proxy refused the tunnel (HTTP ${status ?? "?"} to CONNECT)`));
        return;
      }
      if (this.tunnel !== raw) return;
      this.tunnel = null;
      this.use(
        tls.connect({
          ...this.target.tlsOptions,
          socket: raw,
          servername: this.target.servername,
          ALPNProtocols: ["http/1.1"],
        }),
      );
      for (let i = 0; i < this.inFlight; i++) this.socket!.write(this.target.request);
    };
    raw.on("data", onData);
    raw.on("error", (err: Error) => failTunnel(err));
    raw.on("close", () => failTunnel(new ConnectionClosedError()));
  }

  private use(socket: net.Socket): void {
    socket.setNoDelay(true);
    if (this.target.tls)
      socket.on("data", (chunk: Buffer) => {
        if (socket === this.socket) this.parse(socket, chunk, chunk.length);
      });
    socket.on("error", (err: Error) => this.fail(socket, err));
    socket.on("close", () => this.closedByPeer(socket));
    this.socket = socket;
    this.resetParser();
    this.partial = null;
    this.idleLimitMs = DEFAULT_IDLE_LIMIT_MS;
  }

  /** Forgets the socket without failing anything: its events are ignored from now on. */
  private dropSocket(): void {
    this.tunnel?.destroy();
    this.tunnel = null;
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.destroy();
  }

  private takeQueue(): (ResponseHandler | undefined)[] {
    const taken = this.queue.slice(this.head, this.tail);
    this.queue.fill(undefined);
    this.head = 0;
    this.tail = 0;
    return taken;
  }

  private setQueue(handlers: (ResponseHandler | undefined)[]): void {
    this.queue = handlers;
    this.head = 0;
    this.tail = handlers.length;
  }

  private closedByPeer(socket: net.Socket): void {
    if (socket !== this.socket) return;
    // An answer without length or chunked framing ends where the connection does.
    if (this.state === BODY_UNTIL_CLOSE) {
      this.complete(socket);
      return;
    }
    this.fail(socket, new ConnectionClosedError());
  }

  /** The socket failed: the oldest request gets the error, the others go out again on a new one. */
  private fail(socket: net.Socket, error: Error): void {
    if (socket !== this.socket) return;
    this.dropSocket();
    const waiting = this.takeQueue();
    const oldest = waiting.shift();
    if (waiting.length > 0) {
      this.setQueue(waiting);
      this.connect();
      // Through a tunnel still opening, they go out once it is up.
      if (this.socket !== null)
        for (let i = 0; i < waiting.length; i++) this.socket.write(this.target.request);
    }
    oldest?.onFailure(error);
  }

  private malformed(socket: net.Socket, what: string): void {
    this.fail(socket, new MalformedResponseError(`malformed answer from ${this.target.host}: ${what}`));
  }

  private resetParser(): void {
    this.state = STATUS_LINE;
    this.headBytes = 0;
  }

  private startAnswer(): void {
    this.contentLength = -1;
    this.chunked = false;
    this.otherEncoding = false;
    this.closeAfter = false;
    this.keepAlive = false;
    this.hintInHead = false;
  }

  /** Reads bytes 0..end of `input` from `socket`; `input` may be reused once this returns. */
  private parse(socket: net.Socket, input: Uint8Array, end: number): void {
    let buf = input;
    let i = 0;
    if (this.partial !== null) {
      buf = Buffer.concat([this.partial, input.subarray(0, end)]);
      end = buf.length;
      this.partial = null;
    }
    // Where the head being read started in `buf`, when it started in it.
    let headStart = -1;
    while (i < end) {
      const state = this.state;
      if (state === STATUS_LINE) {
        headStart = i;
        if (this.lastHead !== null && this.sameHeadAt(buf, i, end)) {
          i += this.lastHead.bytes.length;
          this.takeKnownHead(this.lastHead);
          if (!this.endOfHead(socket)) return;
          continue;
        }
      }
      if (state === FIXED_BODY || state === CHUNK_DATA) {
        const take = Math.min(this.remaining, end - i);
        i += take;
        this.remaining -= take;
        if (this.remaining > 0) return;
        if (state === CHUNK_DATA) this.state = CHUNK_END_LINE;
        else if (!this.complete(socket)) return;
        continue;
      }
      if (state === BODY_UNTIL_CLOSE) return;
      i = this.readLine(socket, buf, i, end, headStart);
      if (i < 0) return;
    }
  }

  /**
   * Handles the line at buf[i..], or keeps it as the partial line when its end has not come;
   * the index after it, or -1 when reading stops here. Kept out of `parse`: answers whose head
   * repeats never come here, so V8 optimises `parse` without it (node --trace-opt: about 40% less
   * compiling in a run).
   */
  private readLine(socket: net.Socket, buf: Uint8Array, i: number, end: number, headStart: number): number {
    let lf = i;
    while (lf < end && buf[lf] !== LF) lf++;
    if (lf === end) {
      if (this.headBytes + end - i > MAX_HEAD_BYTES) {
        this.malformed(socket, "head too large");
        return -1;
      }
      this.partial = Buffer.from(buf.subarray(i, end));
      return -1;
    }
    this.headBytes += lf + 1 - i;
    if (this.headBytes > MAX_HEAD_BYTES) {
      this.malformed(socket, "head too large");
      return -1;
    }
    const lineEnd = lf > i && buf[lf - 1] === CR ? lf - 1 : lf;
    if (this.state === HEADER_LINE && lineEnd === i && headStart >= 0)
      this.rememberHead(buf, headStart, lf + 1);
    return this.line(socket, buf, i, lineEnd) ? lf + 1 : -1;
  }

  /** The bytes at `buf[i..]` are the last head again (and an answer is awaited). */
  private sameHeadAt(buf: Uint8Array, i: number, end: number): boolean {
    const known = this.lastHead!.bytes;
    if (
      this.headMisses > this.headHits + HEAD_MISSES_ALLOWED ||
      end - i < known.length ||
      this.inFlight === 0
    )
      return false;
    if (known.compare(buf, i, i + known.length) === 0) {
      this.headHits++;
      return true;
    }
    this.headMisses++;
    return false;
  }

  /** Keeps a complete final head (status line to blank line) read from one buffer, before it is acted on. */
  private rememberHead(buf: Uint8Array, start: number, end: number): void {
    if (this.status < 200) return;
    this.lastHead = {
      bytes: Buffer.from(buf.subarray(start, end)),
      status: this.status,
      http10: this.http10,
      contentLength: this.contentLength,
      chunked: this.chunked,
      otherEncoding: this.otherEncoding,
      closeAfter: this.closeAfter,
      keepAlive: this.keepAlive,
      idleLimitMs: this.hintInHead ? this.idleLimitMs : -1,
    };
  }

  /** The parser state reading `head` line by line would have left, up to its blank line. */
  private takeKnownHead(head: KnownHead): void {
    this.status = head.status;
    this.http10 = head.http10;
    this.contentLength = head.contentLength;
    this.chunked = head.chunked;
    this.otherEncoding = head.otherEncoding;
    this.closeAfter = head.closeAfter;
    this.keepAlive = head.keepAlive;
    if (head.idleLimitMs >= 0) this.idleLimitMs = head.idleLimitMs;
  }

  /** Handles one line s..e (without CR LF); false when the socket is gone. */
  private line(socket: net.Socket, buf: Uint8Array, s: number, e: number): boolean {
    switch (this.state) {
      case STATUS_LINE:
        return this.statusLine(socket, buf, s, e);
      case HEADER_LINE:
        if (s === e) return this.endOfHead(socket);
        return this.headerLine(socket, buf, s, e);
      case CHUNK_SIZE_LINE:
        return this.chunkSizeLine(socket, buf, s, e);
      case CHUNK_END_LINE:
        if (s !== e) {
          this.malformed(socket, "chunk data longer than its size");
          return false;
        }
        this.state = CHUNK_SIZE_LINE;
        this.headBytes = 0;
        return true;
      default: // TRAILER_LINE
        return s === e ? this.complete(socket) : true;
    }
  }

  private statusLine(socket: net.Socket, buf: Uint8Array, s: number, e: number): boolean {
    if (this.inFlight === 0) {
      this.malformed(socket, "an answer to no request");
      return false;
    }
    // "HTTP/1.x NNN[ reason]"
    if (
      e - s < 12 ||
      buf[s] !== 72 ||
      buf[s + 1] !== 84 ||
      buf[s + 2] !== 84 ||
      buf[s + 3] !== 80 ||
      buf[s + 4] !== 47 ||
      buf[s + 5] !== 49 ||
      buf[s + 6] !== 46 ||
      (buf[s + 7] !== 49 && buf[s + 7] !== 48) ||
      buf[s + 8] !== SPACE ||
      !isDigit(buf[s + 9]) ||
      !isDigit(buf[s + 10]) ||
      !isDigit(buf[s + 11]) ||
      (e - s > 12 && buf[s + 12] !== SPACE)
    ) {
      this.malformed(socket, "bad status line");
      return false;
    }
    this.status = (buf[s + 9] - 48) * 100 + (buf[s + 10] - 48) * 10 + (buf[s + 11] - 48);
    this.http10 = buf[s + 7] === 48;
    this.startAnswer();
    this.state = HEADER_LINE;
    return true;
  }

  private headerLine(socket: net.Socket, buf: Uint8Array, s: number, e: number): boolean {
    let colon = s;
    while (colon < e && buf[colon] !== COLON) colon++;
    if (colon === e || colon === s) {
      this.malformed(socket, "bad header line");
      return false;
    }
    const nameLength = colon - s;
    let v = colon + 1;
    while (v < e && (buf[v] === SPACE || buf[v] === TAB)) v++;
    let ve = e;
    while (ve > v && (buf[ve - 1] === SPACE || buf[ve - 1] === TAB)) ve--;
    if (nameLength === 14 && matchesAt(buf, s, CONTENT_LENGTH)) {
      if (v === ve) return this.badLength(socket);
      let length = 0;
      for (let k = v; k < ve; k++) {
        if (!isDigit(buf[k])) return this.badLength(socket);
        length = length * 10 + buf[k] - 48;
      }
      if (length > Number.MAX_SAFE_INTEGER || (this.contentLength >= 0 && this.contentLength !== length))
        return this.badLength(socket);
      this.contentLength = length;
    } else if (nameLength === 17 && matchesAt(buf, s, TRANSFER_ENCODING)) {
      // Chunked only when it is the last coding; anything else is read until the close.
      this.chunked = ve - v >= 7 && matchesAt(buf, ve - 7, CHUNKED);
      this.otherEncoding = !this.chunked;
    } else if (nameLength === 10 && matchesAt(buf, s, CONNECTION)) {
      if (containsWord(buf, v, ve, CLOSE)) this.closeAfter = true;
      else if (containsWord(buf, v, ve, KEEP_ALIVE)) this.keepAlive = true;
    } else if (nameLength === 10 && matchesAt(buf, s, KEEP_ALIVE)) {
      this.keepAliveHint(buf, v, ve);
    }
    return true;
  }

  private badLength(socket: net.Socket): boolean {
    this.malformed(socket, "bad content-length");
    return false;
  }

  /** "timeout=N" in a Keep-Alive header: the server closes idle connections after N seconds. */
  private keepAliveHint(buf: Uint8Array, s: number, e: number): void {
    for (let i = s; i + TIMEOUT_IS.length < e; i++) {
      if (!matchesAt(buf, i, TIMEOUT_IS)) continue;
      let seconds = 0;
      let k = i + TIMEOUT_IS.length;
      const first = k;
      while (k < e && isDigit(buf[k]) && k - first < 9) seconds = seconds * 10 + buf[k++] - 48;
      if (k > first) {
        this.idleLimitMs = Math.max(0, seconds * 1000 - IDLE_HINT_MARGIN_MS);
        this.hintInHead = true;
      }
      return;
    }
  }

  private endOfHead(socket: net.Socket): boolean {
    const status = this.status;
    if (status < 200) {
      // 101 would switch protocols, which a load request never asks for.
      if (status === 101) {
        this.malformed(socket, "unexpected 101 Switching Protocols");
        return false;
      }
      // An interim answer (100 Continue, 103 Early Hints): the real one follows.
      this.resetParser();
      return true;
    }
    if (this.http10 && !this.keepAlive) this.closeAfter = true;
    this.headBytes = 0;
    if (!this.target.answersHaveBody || status === 204 || status === 304) return this.complete(socket);
    if (this.chunked) {
      this.state = CHUNK_SIZE_LINE;
    } else if (this.otherEncoding || this.contentLength < 0) {
      this.state = BODY_UNTIL_CLOSE;
      this.closeAfter = true;
    } else if (this.contentLength === 0) {
      return this.complete(socket);
    } else {
      this.remaining = this.contentLength;
      this.state = FIXED_BODY;
    }
    return true;
  }

  private chunkSizeLine(socket: net.Socket, buf: Uint8Array, s: number, e: number): boolean {
    let size = 0;
    let k = s;
    for (; k < e && k - s < 13; k++) {
      const c = buf[k] | 0x20;
      if (c >= 48 && c <= 57) size = size * 16 + c - 48;
      else if (c >= 97 && c <= 102) size = size * 16 + c - 87;
      else break;
    }
    // Digits, then nothing, an extension (";...") or whitespace before one.
    if (k === s || (k < e && buf[k] !== 59 && buf[k] !== SPACE && buf[k] !== TAB)) {
      this.malformed(socket, "bad chunk size");
      return false;
    }
    if (size === 0) {
      this.state = TRAILER_LINE;
    } else {
      this.remaining = size;
      this.state = CHUNK_DATA;
    }
    return true;
  }

  /** The oldest request got its whole answer; false when the socket is gone. */
  private complete(socket: net.Socket): boolean {
    const handler = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    }
    const now = performance.now();
    this.idleSince = now;
    this.resetParser();
    // The server closes after this answer: requests behind it go out again on a new connection.
    if (this.closeAfter) this.replaceSocket();
    handler.onResponse(this.status, now);
    return this.socket === socket;
  }

  private replaceSocket(): void {
    this.dropSocket();
    const waiting = this.inFlight;
    if (waiting === 0) return;
    this.connect();
    for (let i = 0; i < waiting; i++) this.socket!.write(this.target.request);
  }
}

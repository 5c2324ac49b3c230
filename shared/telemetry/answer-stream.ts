/**
 * The Log Analytics answer `{ tables: [{ name, columns, rows: [[...], ...] }], error? }` read as it
 * arrives: each row of the first table is handed over as soon as it is complete and then
 * forgotten, so a busy window's million rows never sit in memory (nor a 40 MB string of them).
 *
 * Everything but the rows (the envelope: table names, columns, a partial-result `error`) is
 * small; it is kept as text with every table's rows emptied and parsed at the end. The columns of
 * a table are parsed as soon as they are complete: the API sends them before the rows. Rows of
 * tables after the first are counted and dropped (only the first table is judged).
 *
 * Each row is found by scanning to its closing bracket (string-aware) and parsed by JSON.parse:
 * the native parser does the per-value work.
 */
import { StringDecoder } from "node:string_decoder";

/** The envelope is small; a larger one is not a query answer. */
const MAX_ENVELOPE_CHARS = 1024 * 1024;

/** Where a value sits: an object (its current key) or an array (its current index). */
interface Frame {
  kind: "object" | "array";
  /** The key this container sits under in its parent object. */
  name?: string;
  /** Object: the key of the member being read. */
  key?: string;
  /** Object: the next string is a key. */
  expectKey: boolean;
  index: number;
  /** This array is a table's `rows`: its elements are rows, not envelope. */
  rowsOfTable?: number;
}

export interface AnswerHandlers {
  /** A table's columns, as soon as they are complete (before its rows in the API's answers). */
  onColumns?(table: number, columns: unknown): void;
  /** One row of the first table. */
  onRow(row: unknown): void;
}

export class AnswerSyntaxError extends Error {
  override name = "AnswerSyntaxError";
}

/** Index after the string starting at `start` (a quote), or -1 when it does not end in `text`. */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let k = quote - 1; k > start && text.charCodeAt(k) === 92; k--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

const isDelimiter = (c: number) =>
  c === 44 || c === 93 || c === 125 || c === 32 || c === 10 || c === 13 || c === 9 || c === 58;

/**
 * Index after the value starting at `start` (a container, a string, or a number or literal), or
 * -1 when it does not end within `text`; `final` says no more text will come.
 */
function valueEnd(text: string, start: number, final: boolean): number {
  const first = text.charCodeAt(start);
  if (first === 34) return stringEnd(text, start);
  if (first !== 91 && first !== 123) {
    let j = start;
    while (j < text.length && !isDelimiter(text.charCodeAt(j))) j++;
    return j < text.length || final ? j : -1;
  }
  let depth = 0;
  for (let j = start; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 34) {
      const end = stringEnd(text, j);
      if (end < 0) return -1;
      j = end - 1;
    } else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) {
      if (--depth === 0) return j + 1;
    }
  }
  return -1;
}

function parseValue(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AnswerSyntaxError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

/** Reads an answer chunk by chunk; `end()` returns the envelope with every table's rows emptied. */
export class QueryAnswerReader {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  private readonly stack: Frame[] = [];
  private envelope = "";
  private started = false;
  private done = false;
  /** Rows handed over (first table) and dropped (the others). */
  rows = 0;
  droppedRows = 0;

  constructor(private readonly handlers: AnswerHandlers) {}

  write(chunk: Buffer | string): void {
    const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    this.scan(this.pending + text, false);
  }

  /** The envelope (`{ tables: [{ name, columns, rows: [] }], error? }`), once all was written. */
  end(): unknown {
    this.scan(this.pending + this.decoder.end(), true);
    if (!this.done || this.pending.trim() !== "")
      throw new AnswerSyntaxError("the answer ends before its JSON does (cut off?)");
    return parseValue(this.envelope, "the answer");
  }

  /** `count` complete rows as written (commas between them), handed over one by one. */
  private deliverRows(table: number, text: string, count: number): void {
    if (table !== 0) {
      this.droppedRows += count;
      return;
    }
    let rows: unknown[];
    try {
      rows = JSON.parse(`[${text}]`) as unknown[];
    } catch {
      // Find the row that is not JSON, to name it.
      rows = [];
      let at = 0;
      for (let k = 0; k < count; k++) {
        while (isSpace(text.charCodeAt(at)) || text.charCodeAt(at) === 44) at++;
        const end = valueEnd(text, at, true);
        rows.push(parseValue(text.slice(at, end), `row ${this.rows + k + 1} of the answer`));
        at = end;
      }
    }
    for (const row of rows) {
      this.rows++;
      this.handlers.onRow(row);
    }
  }

  private emit(text: string): void {
    this.envelope += text;
    if (this.envelope.length > MAX_ENVELOPE_CHARS)
      throw new AnswerSyntaxError(
        `the answer holds over ${MAX_ENVELOPE_CHARS} characters besides its rows: not a query answer`,
      );
  }

  /** The index k when the value opening now is a member of `tables[k]`. */
  private tableHere(): number | undefined {
    const [root, tables, table] = this.stack;
    if (this.stack.length !== 3) return undefined;
    if (
      root.kind !== "object" ||
      tables.kind !== "array" ||
      tables.name !== "tables" ||
      table.kind !== "object"
    )
      return undefined;
    return tables.index;
  }

  private scan(text: string, final: boolean): void {
    let i = 0;
    const n = text.length;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) {
        i++;
        continue;
      }
      if (this.done) throw new AnswerSyntaxError("the answer goes on after its JSON ends");
      const top = this.stack.at(-1);
      if (top?.rowsOfTable !== undefined && c !== 44 && c !== 93) {
        // Rows: every complete one in the text from here, scanned to their ends and parsed
        // together (one JSON.parse for a run of rows, not one each).
        let end = valueEnd(text, i, final);
        if (end < 0) break;
        const first = i;
        let count = 0;
        while (end >= 0) {
          count++;
          i = end;
          let next = i;
          while (next < n && isSpace(text.charCodeAt(next))) next++;
          if (text.charCodeAt(next) !== 44) break;
          next++;
          while (next < n && isSpace(text.charCodeAt(next))) next++;
          if (next >= n || text.charCodeAt(next) === 93) break;
          const after = valueEnd(text, next, final);
          if (after < 0) break;
          end = after;
          // The comma between is consumed with the run; the next row is part of it.
          i = next;
        }
        this.deliverRows(top.rowsOfTable, text.slice(first, end), count);
        i = end;
        continue;
      }
      if (c === 123 || c === 91) {
        if (!top && this.started) throw new AnswerSyntaxError("the answer holds more than one JSON value");
        this.started = true;
        const key = top?.kind === "object" ? top.key : undefined;
        const table = c === 91 ? this.tableHere() : undefined;
        if (table !== undefined && key === "columns") {
          // A table's columns: small, wanted before the rows.
          const end = valueEnd(text, i, final);
          if (end < 0) break;
          const columns = text.slice(i, end);
          this.handlers.onColumns?.(table, parseValue(columns, "the columns"));
          this.emit(columns);
          i = end;
          continue;
        }
        const rowsOfTable = key === "rows" ? table : undefined;
        this.stack.push({
          kind: c === 123 ? "object" : "array",
          name: key,
          expectKey: c === 123,
          index: 0,
          rowsOfTable,
        });
        this.emit(text[i]);
        i++;
        continue;
      }
      if (c === 125 || c === 93) {
        const frame = this.stack.pop();
        if (!frame || (frame.kind === "object") !== (c === 125))
          throw new AnswerSyntaxError(`unexpected "${text[i]}" in the answer`);
        this.emit(text[i]);
        if (this.stack.length === 0) this.done = true;
        i++;
        continue;
      }
      if (!top) {
        if (!this.started) throw new AnswerSyntaxError("the answer is not a JSON object");
        throw new AnswerSyntaxError("the answer goes on after its JSON ends");
      }
      if (c === 44) {
        if (top.kind === "object") top.expectKey = true;
        else top.index++;
        if (top.rowsOfTable === undefined) this.emit(",");
        i++;
        continue;
      }
      if (c === 58) {
        top.expectKey = false;
        this.emit(":");
        i++;
        continue;
      }
      // A string, number or literal of the envelope.
      const end = valueEnd(text, i, final);
      if (end < 0) break;
      const token = text.slice(i, end);
      if (top.kind === "object" && top.expectKey) top.key = parseValue(token, "a key") as string;
      this.emit(token);
      i = end;
    }
    this.pending = text.slice(i);
    if (this.pending.length > MAX_ENVELOPE_CHARS)
      throw new AnswerSyntaxError(`a value of the answer is over ${MAX_ENVELOPE_CHARS} characters long`);
  }
}

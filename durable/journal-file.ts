// A journal of JSON lines beside a snapshot: each record is one line, written with one write before
// `append` returns (a SIGKILL loses nothing that returned), made durable by one fdatasync per burst
// of appends (group commit). `compact` writes the snapshot that holds every record and then removes
// the journal; a crash in between is harmless when replaying a record onto a snapshot that already
// holds it changes nothing. A kill mid-write leaves a last line without its newline: replay ignores
// it, and the next append cuts it off first, so a new record never glues onto it. A line that does
// not parse anywhere else is damage, and an error.
import { VirtformError } from "../core/virtform-error.ts";
import { closeSync, fdatasync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "./write-file-atomic.ts";

/** A line other than the last does not parse: the journal was damaged after it was written. */
export class JournalDamagedError extends VirtformError<"journal-damaged"> {
  readonly layer = "durable";
  readonly path: string;
  readonly line: number;

  constructor(path: string, line: number) {
    super("journal-damaged", `${path} is damaged at line ${line}`);
    this.name = "JournalDamagedError";
    this.path = path;
    this.line = line;
  }
}

export interface Replayed {
  /** The journal's size in bytes (0 when there is none). */
  bytes: number;
  /** Whether it ends in a line cut short (a kill mid-write), which was ignored. */
  torn: boolean;
}

export class JournalFile<T> {
  readonly path: string;
  private fd: number | undefined;
  private syncScheduled = false;

  constructor(path: string) {
    this.path = path;
  }

  /** Calls `apply` with each record, in order, and its line as written; reads without changing the file. */
  replay(apply: (record: T, line: string) => void): Replayed {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { bytes: 0, torn: false };
      throw err;
    }
    const torn = text.length > 0 && !text.endsWith("\n");
    // An unterminated last line is a write that never returned, even when it parses: the next
    // append cuts it off, so replaying it would show a record that is then gone.
    const whole = torn ? text.slice(0, text.lastIndexOf("\n") + 1) : text;
    const lines = whole.split("\n").filter((l) => l.length > 0);
    lines.forEach((line, i) => {
      let record: T;
      try {
        record = JSON.parse(line) as T;
      } catch {
        // A last line that does not parse is ignored, as earlier versions did.
        if (i === lines.length - 1) return;
        throw new JournalDamagedError(this.path, i + 1);
      }
      apply(record, line);
    });
    return { bytes: Buffer.byteLength(text), torn };
  }

  /** Every record, in order (see replay). */
  readAll(): T[] {
    const records: T[] = [];
    this.replay((record) => records.push(record));
    return records;
  }

  /** Appends one record as one write; returns the bytes written. */
  append(record: T): number {
    const fd = this.open();
    const written = writeSync(fd, JSON.stringify(record) + "\n");
    this.scheduleSync();
    return written;
  }

  /** Whether this writer has the journal open (it appended since its last compaction). */
  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  /** The journal's size as the open file has it now: more than this writer appended means another writer appended too. */
  sizeOnDisk(): number | undefined {
    return this.fd === undefined ? undefined : fstatSync(this.fd).size;
  }

  /** Writes `snapshot` (atomically, to `snapshotPath`) and removes the journal its content now holds. */
  compact(snapshotPath: string, snapshot: string): void {
    writeFileAtomic(snapshotPath, snapshot);
    this.close();
    rmSync(this.path, { force: true });
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    mkdirSync(dirname(this.path), { recursive: true });
    const fd = openSync(this.path, "a+");
    try {
      cutTornTail(fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.fd = fd;
    return fd;
  }

  /** One fdatasync covers every record written since the last one. */
  private scheduleSync(): void {
    if (this.syncScheduled || this.fd === undefined) return;
    this.syncScheduled = true;
    const fd = this.fd;
    setImmediate(() =>
      fdatasync(fd, () => {
        this.syncScheduled = false;
      }),
    );
  }
}

/** A last line without its newline is cut off, so the next record starts on a line of its own. */
function cutTornTail(fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  if (last[0] === 0x0a) return;
  const whole = Buffer.alloc(size);
  readSync(fd, whole, 0, size, 0);
  ftruncateSync(fd, whole.lastIndexOf(0x0a) + 1);
}

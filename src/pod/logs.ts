import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import { BarepodError } from '../errors.js';
import { isActive, restartPolicyOf, type ContainerRecord, type PodRecord } from '../model.js';
import { shouldRestart } from '../plan/restart.js';
import { containerPaths } from '../plan/paths.js';
import { findContainer, reconcile } from './record.js';
import { parseDuration } from '../duration.js';
import type { Runtime } from './runtime.js';

/** One line of a container's output, as conmon kept it in its CRI (k8s-file) log. */
export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  /** the line as UTF-8 text (bytes that are not UTF-8 read as U+FFFD) */
  text: string;
  /** the exact bytes, base64, when they are not valid UTF-8 (so `text` is not them) */
  bytes?: string;
}

/** The exact bytes of a log line. */
export function lineBytes(line: LogLine): Buffer {
  return line.bytes === undefined ? Buffer.from(line.text, 'utf8') : Buffer.from(line.bytes, 'base64');
}

/** A line from its bytes: text, and the bytes themselves when text cannot hold them. */
function lineOf(time: string, stream: LogLine['stream'], raw: Buffer): LogLine {
  const text = raw.toString('utf8');
  return isUtf8(raw) ? { time, stream, text } : { time, stream, text, bytes: raw.toString('base64') };
}

/** A log line and the container that wrote it. */
export interface ContainerLogLine extends LogLine {
  container: string;
}

type Stream = LogLine['stream'];
const STREAMS: readonly Stream[] = ['stdout', 'stderr'];
const NEWLINE = 0x0a;

/**
 * Parses a CRI log as it arrives, in chunks of any size:
 * `<RFC3339Nano> <stdout|stderr> <F|P> <text>` per record; a P (partial)
 * record is continued by the following ones of the same stream up to the next
 * F, so long lines come back whole. A record cut by the end of a chunk is
 * carried over as bytes (a UTF-8 character split between reads survives) and
 * a partial line waits for its F.
 */
export class CriLogParser {
  private carry: Buffer = Buffer.alloc(0);
  /** a partial line per stream: its first record's time and its bytes so far (a character may be split between records) */
  private pending: Partial<Record<Stream, { time: string; parts: Buffer[] }>> = {};

  /** The lines the chunk completes, in the order their last record was written. */
  feed(chunk: Uint8Array): LogLine[] {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk);
    const out: LogLine[] = [];
    let start = 0;
    for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      this.record(data.subarray(start, nl), out);
      start = nl + 1;
    }
    this.carry = Buffer.from(data.subarray(start));
    return out;
  }

  /** The end of the input: an unterminated last record counts, and partial lines still waiting come out as they are. */
  end(): LogLine[] {
    const out: LogLine[] = [];
    if (this.carry.length > 0) this.record(this.carry, out);
    this.carry = Buffer.alloc(0);
    for (const s of STREAMS) {
      const p = this.pending[s];
      if (p) out.push(lineOf(p.time, s, Buffer.concat(p.parts)));
    }
    this.pending = {};
    return out;
  }

  /** Forgets an unterminated record: the file it came from was truncated under it. */
  dropCarry(): void {
    this.carry = Buffer.alloc(0);
  }

  /**
   * One record: `<time> <stream> <F|P> <text>`. The text is every byte after
   * the tag's space, whatever it holds (a carriage return, U+2028, bytes that
   * are not UTF-8): only the record's own newline ends it.
   */
  private record(raw: Buffer, out: LogLine[]): void {
    const sp1 = raw.indexOf(0x20);
    const sp2 = sp1 > 0 ? raw.indexOf(0x20, sp1 + 1) : -1;
    if (sp2 < 0) return;
    const time = raw.toString('latin1', 0, sp1);
    const s = raw.toString('latin1', sp1 + 1, sp2);
    const tag = raw[sp2 + 1];
    if ((s !== 'stdout' && s !== 'stderr') || (tag !== 0x46 && tag !== 0x50) || /\s/.test(time)) return; // F or P
    const stream: Stream = s;
    const text = raw.subarray(raw[sp2 + 2] === 0x20 ? sp2 + 3 : sp2 + 2);
    const prev = this.pending[stream];
    const parts = prev ? [...prev.parts, Buffer.from(text)] : [Buffer.from(text)];
    const first = prev?.time ?? time;
    if (tag === 0x50) this.pending[stream] = { time: first, parts };
    else {
      delete this.pending[stream];
      out.push(lineOf(first, stream, parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    }
  }
}

/** Parses a whole CRI log (see CriLogParser); a trailing partial line is kept (the container is still writing it). */
export function parseCriLog(content: string | Buffer): LogLine[] {
  const p = new CriLogParser();
  return [...p.feed(typeof content === 'string' ? Buffer.from(content, 'utf8') : content), ...p.end()];
}

/** Milliseconds since the epoch of an RFC3339 time (digits past the millisecond are dropped); NaN when it is not one. */
export function rfc3339Ms(time: string): number {
  const m = /^(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return NaN;
  const [, date, clock, fraction = '', zone = 'Z'] = m;
  return Date.parse(`${date}T${clock}.${fraction.padEnd(3, '0').slice(0, 3)}${zone.toUpperCase()}`);
}

/**
 * Parses `--since`: a duration before `now` (`10s`, `5m`, `1h30m`, `1.5h`,
 * `500ms`, as Go and kubectl write them) or an RFC3339 time; returns the
 * cutoff in milliseconds since the epoch.
 */
export function parseSince(text: string, now = Date.now()): number {
  const at = rfc3339Ms(text);
  if (!Number.isNaN(at)) return at;
  const bad = new BarepodError('invalid-value', `--since "${text}": must be a duration (10s, 5m, 1h30m) or an RFC3339 time (2026-01-02T15:04:05Z)`);
  if (/^[\d.]+$/.test(text)) throw bad; // a unit is required, as kubectl requires one
  try {
    return now - parseDuration(text, '--since');
  } catch {
    throw bad;
  }
}

/** The lines written at or after a cutoff (milliseconds since the epoch); a line with an unreadable time is kept. */
export function keepSince<T extends LogLine>(lines: T[], cutoffMs: number | undefined): T[] {
  return cutoffMs === undefined ? lines : lines.filter((l) => !(rfc3339Ms(l.time) < cutoffMs));
}

/** The last n lines (all of them when n is undefined). */
export function lastLines<T>(lines: T[], n: number | undefined): T[] {
  return n === undefined ? lines : lines.slice(Math.max(0, lines.length - n));
}

/** Orders two CRI times: by instant, then as text (the nanoseconds). */
function compareTimes(a: string, b: string): number {
  const d = rfc3339Ms(a) - rfc3339Ms(b);
  if (d !== 0 && !Number.isNaN(d)) return d;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Merges the lines of several containers in time order. Each list keeps its
 * own order (a merge, not a sort), so the lines of one stream are never
 * reordered, even when the clock stepped back; ties go to the earlier list.
 */
export function mergeByTime<T extends LogLine>(lists: T[][]): T[] {
  const heads = lists.map(() => 0);
  const total = lists.reduce((n, l) => n + l.length, 0);
  const out: T[] = [];
  while (out.length < total) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const line = lists[i]![heads[i]!];
      if (line && (best < 0 || compareTimes(line.time, lists[best]![heads[best]!]!.time) < 0)) best = i;
    }
    out.push(lists[best]![heads[best]!++]!);
  }
  return out;
}

export interface LogSelection {
  /** one container (default: every container of the pod) */
  container?: string | undefined;
  /** the last n lines of each container */
  tail?: number | undefined;
  /** only lines written at or after this instant (ms since the epoch) */
  sinceMs?: number | undefined;
}

/** The lines of one container's log: --since, then --tail. */
function select(name: string, lines: LogLine[], sel: LogSelection): ContainerLogLine[] {
  return lastLines(keepSince(lines, sel.sinceMs), sel.tail).map((l) => ({ ...l, container: name }));
}

/** The containers a selection covers, in the pod's order; a named one must exist. */
function selected(rec: PodRecord, container: string | undefined): string[] {
  if (container === undefined) return rec.containers.map((c) => c.def.name);
  findContainer(rec, container);
  return [container];
}

/** The log lines of a pod's containers (or one), each container's cut by --since and --tail, merged in time order. */
export function readLogs(rt: Runtime, pod: string, sel: LogSelection = {}): ContainerLogLine[] {
  const rec = rt.store.read(pod);
  const lists = selected(rec, sel.container).map((name) => {
    let content: Buffer;
    try {
      content = fs.readFileSync(containerPaths(rt.settings.stateRoot, pod, name).log);
    } catch {
      return []; // no output yet
    }
    return select(name, parseCriLog(content), sel);
  });
  return mergeByTime(lists);
}

/**
 * One log file read by byte offset as it grows. conmon opens it O_APPEND (a
 * restarted container writes on at the end) and, at --log-size-max, renames
 * a fresh file over it: a changed inode means "replaced" (the rest of the old
 * file is read through the fd still open, then the new one from 0); a size
 * below the offset means "truncated" (read again from 0). A missing file is
 * waited for.
 */
export class LogTail {
  private fd: number | undefined;
  private dev = 0;
  private ino = 0;
  private offset = 0;
  private readonly parser = new CriLogParser();
  private readonly buf = Buffer.alloc(64 * 1024);

  constructor(readonly file: string) {}

  /** The lines completed since the last call. */
  read(): LogLine[] {
    const out: LogLine[] = [];
    if (this.fd !== undefined) {
      this.drain(out);
      const st = fs.statSync(this.file, { throwIfNoEntry: false });
      const same = st !== undefined && st.ino === this.ino && st.dev === this.dev;
      if (same && st.size >= this.offset) return out;
      if (same) {
        this.offset = 0;
        this.parser.dropCarry();
        this.drain(out);
        return out;
      }
      this.drain(out); // whatever reached the old file before the new one was renamed in
      this.close();
    }
    if (this.open()) this.drain(out);
    return out;
  }

  /** The end of following: what is left, partial lines included. */
  finish(): LogLine[] {
    const out = this.read();
    for (const line of this.parser.end()) out.push(line);
    this.close();
    return out;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): boolean {
    try {
      this.fd = fs.openSync(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    const st = fs.fstatSync(this.fd);
    this.dev = st.dev;
    this.ino = st.ino;
    this.offset = 0;
    return true;
  }

  /** Reads from the offset to the end of the file into `out` (a loop, not a spread: a big log is many lines). */
  private drain(out: LogLine[]): void {
    if (this.fd === undefined) return;
    for (;;) {
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      if (n === 0) return;
      this.offset += n;
      for (const line of this.parser.feed(this.buf.subarray(0, n))) out.push(line);
    }
  }
}

export interface FollowOptions extends LogSelection {
  /** how often the files and the pod record are looked at */
  pollMs?: number;
  /** ends following (Ctrl-C) */
  signal?: AbortSignal;
}

/**
 * Has the container ended for good: exited (or lost its monitor), with no
 * restart pending (a backoff) or about to come (its policy restarts it and
 * the exit handler has yet to act)?
 */
function ended(rec: PodRecord, c: ContainerRecord): boolean {
  if (c.state !== 'exited' && c.state !== 'unknown') return false;
  if (c.backoff !== undefined) return false;
  const restarting = isActive(rec) && c.desired !== 'stopped' && shouldRestart(restartPolicyOf(rec.def, c.def), c.exitCode);
  return !restarting;
}

/** Resolves after `ms`, or at once when the signal fires. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

/**
 * `logs -f`: hands `emit` the lines already there (cut by --since and --tail,
 * per container), then every new line as it is written, polling each
 * container's log by byte offset. The pod record is read again at every poll,
 * so containers added later are followed too and a restarted one goes on in
 * the same file. Ends when the pod is removed, when every followed container
 * has ended (exited, no restart pending) at two polls in a row, or on the signal.
 */
export async function followLogs(rt: Runtime, pod: string, o: FollowOptions, emit: (lines: ContainerLogLine[]) => void): Promise<void> {
  const first = rt.store.read(pod);
  selected(first, o.container); // a named container must exist when following starts
  const followed = (r: PodRecord) => r.containers.filter((c) => o.container === undefined || c.def.name === o.container);
  const tails = new Map<string, LogTail>();
  const tailOf = (name: string) => {
    let t = tails.get(name);
    if (!t) tails.set(name, (t = new LogTail(containerPaths(rt.settings.stateRoot, pod, name).log)));
    return t;
  };
  const tagged = (name: string, lines: LogLine[]) => lines.map((l) => ({ ...l, container: name }));
  try {
    emit(mergeByTime(followed(first).map((c) => select(c.def.name, tailOf(c.def.name).read(), o))));
    let idle = 0;
    let busy = false;
    while (!o.signal?.aborted) {
      // while output flows, look again soon: conmon may rotate a fast-growing log more than once per idle poll
      await pause(busy ? 10 : (o.pollMs ?? 200), o.signal);
      const rec = rt.store.tryRead(pod);
      if (!rec) break; // the pod was removed: what its containers wrote last is read below
      reconcile(rt, rec);
      const containers = followed(rec);
      // the current containers, and those removed since (their last lines, then nothing: the file is gone)
      const names = new Set([...containers.map((c) => c.def.name), ...tails.keys()]);
      const lines = mergeByTime([...names].map((n) => tagged(n, tailOf(n).read())));
      busy = lines.length > 0;
      emit(lines);
      // an empty pod is waited on; a named container that was removed has ended
      const done = containers.every((c) => ended(rec, c)) && (containers.length > 0 || o.container !== undefined);
      idle = done ? idle + 1 : 0;
      if (idle >= 2) break;
    }
    emit(mergeByTime([...tails].map(([n, t]) => tagged(n, t.finish()))));
  } finally {
    for (const t of tails.values()) t.close();
  }
}

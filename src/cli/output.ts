/** Printing helpers shared by every command: JSON for scripts, aligned tables for people. */
import fs from 'node:fs';
import { stdioMade } from './stdio.js';

/**
 * Writes all of `text` to `fd` with write(2) while it takes it; on any error (EAGAIN on a non-blocking pipe or
 * terminal, EPIPE, EBADF) `rest` gets what is left, from the first byte not written.
 */
export function writeAllOr(fd: number, text: string, rest: (left: Buffer) => void): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
  } catch {
    rest(buf.subarray(off));
  }
}

/**
 * A command's output on stdout, with write(2): a read command's first process.stdout.write compiled Node's stream
 * code at each call (~0.3 ms to a file, ~0.5 ms to a pipe, from the snapshot). Through process.stdout while it
 * still holds earlier output (a full pipe), so the order stays, and when it is not fd 1 (a stand-in: the snapshot's
 * warm-up, a test); anything the write does not take goes there too, which deals with it as it always did (waits
 * on EAGAIN; EPIPE: the reader went away, which the CLI's handler takes quietly).
 */
export function writeOut(text: string): void {
  // (not made yet: nothing went through it, and it is not made just to ask)
  if (stdioMade('stdout')) {
    const out = process.stdout;
    if (out.fd !== 1 || out.writableLength > 0) {
      out.write(text);
      return;
    }
  }
  writeAllOr(1, text, (left) => process.stdout.write(left));
}

export function printJson(value: unknown): void {
  writeOut(JSON.stringify(value, null, 2) + '\n');
}

/**
 * The lines of a table, columns padded to their widest cell. `paint` may
 * wrap a body cell (already padded) in colour codes: padding is measured on
 * the plain text, so colours never break the alignment.
 */
export function tableLines(
  header: string[],
  rows: string[][],
  o: { withHeader?: boolean; paint?: (cell: string, row: number, col: number) => string } = {},
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], row: number) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0);
        return row >= 0 && o.paint ? o.paint(padded, row, i) : padded;
      })
      .join('   ')
      .trimEnd();
  return [...(o.withHeader === false ? [] : [line(header, -1)]), ...rows.map((r, i) => line(r, i))];
}

/** Prints rows as a table with a header, columns padded to their widest cell. */
export function printTable(header: string[], rows: string[][], withHeader = true): void {
  writeOut(tableLines(header, rows, { withHeader }).join('\n') + '\n');
}

/** Whether to colour what goes to a stream: a terminal, and no NO_COLOR (https://no-color.org). */
export const colourFor = (stream: NodeJS.WriteStream): boolean => stream.isTTY === true && !process.env.NO_COLOR;

/** Wraps text in an ANSI colour (30-37) when `on`. */
export const paintText = (text: string, colour: number, on: boolean): string => (on ? `\x1b[${colour}m${text}\x1b[0m` : text);

/** "3s", "5m", "2h", "4d": the age column kubectl and podman show. */
export function age(sinceIso: string | undefined, now = Date.now()): string {
  if (!sinceIso) return '-';
  const s = Math.max(0, Math.floor((now - Date.parse(sinceIso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** "127.0.0.1:8080->80/tcp", as podman ps shows a port mapping. */
export function formatPort(p: { hostIP: string; hostPort: number; containerPort: number; protocol: string }): string {
  return `${p.hostIP ? `${p.hostIP}:` : ''}${p.hostPort}->${p.containerPort}/${p.protocol}`;
}

/**
 * Progress lines for a long operation, on stderr and only on a terminal
 * (never with --json or when piped): a line that is not final is rewritten
 * in place.
 */
export function progressPrinter(json: boolean): ((line: string, final: boolean) => void) | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (line, final) => process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
}

/** "12.3 MB": sizes as registries and podman show them (powers of 1000). */
export function humanSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/**
 * How `barepod logs` prints lines: to a pipe or file, the exact bytes the
 * container wrote; to a terminal, the same text with the control sequences
 * that could take the terminal over made visible instead (as `less -R`
 * does): colours (SGR) pass, a window title (OSC 0/1/2), a clipboard write
 * (OSC 52), a screen clear (CSI 2J/3J, ESC c), cursor moves and every other
 * escape or control character are shown as ^[, ^G, … `--raw` passes all.
 */
import { lineBytes, type ContainerLogLine } from '../pod/logs.js';

/** ANSI colours for the [container] prefixes, one per container in the order they are met. */
const PALETTE = [36, 33, 32, 35, 34, 31];

/** An SGR sequence (colours, bold, …): ESC [ parameters m. */
const SGR = /^\x1b\[[0-9;:]*m/;

/**
 * Text made safe for a terminal: SGR kept; every other C0 control (but TAB,
 * and a carriage return that ends the line, as CRLF output has), DEL and the
 * C1 controls shown in caret or <U+XXXX> notation, so no escape sequence
 * reaches the terminal whole.
 */
export function neutraliseForTerminal(text: string): string {
  let out = '';
  let plain = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const control = c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f);
    if (!control || c === 0x09 || (c === 0x0d && i === text.length - 1)) continue;
    if (c === 0x1b) {
      const sgr = SGR.exec(text.slice(i, i + 64));
      if (sgr) {
        i += sgr[0].length - 1;
        continue;
      }
    }
    out += text.slice(plain, i) + (c < 0x20 ? `^${String.fromCharCode(c + 0x40)}` : c === 0x7f ? '^?' : `<U+${c.toString(16).toUpperCase().padStart(4, '0')}>`);
    plain = i + 1;
  }
  return plain === 0 ? text : out + text.slice(plain);
}

export interface LogFormatOptions {
  /** the [container] prefix */
  prefix: boolean;
  timestamps: boolean;
  /** colour the prefixes, per stream */
  colour: { stdout: boolean; stderr: boolean };
  /** the stream is a terminal (escape sequences are neutralised unless raw) */
  terminal: { stdout: boolean; stderr: boolean };
  /** --raw: every byte as written, on a terminal too */
  raw: boolean;
}

/**
 * Turns log lines into what goes to stdout and stderr (stdout lines to
 * stdout, stderr lines to stderr, each in order), with the time and a
 * coloured `[container]` prefix when asked. Keeps the prefix colours of the
 * containers it has met, so one formatter serves a whole `logs -f`.
 */
export class LogFormatter {
  private readonly colours = new Map<string, number>();
  constructor(private readonly o: LogFormatOptions) {}

  format(lines: ContainerLogLine[]): { stdout: Buffer; stderr: Buffer } {
    const parts: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
    for (const l of lines) {
      const head = `${this.o.timestamps ? `${l.time} ` : ''}${this.o.prefix ? this.tag(l.container, this.o.colour[l.stream]) : ''}`;
      const body = this.o.terminal[l.stream] && !this.o.raw ? Buffer.from(neutraliseForTerminal(l.text)) : lineBytes(l);
      parts[l.stream].push(Buffer.from(head), body, Buffer.from('\n'));
    }
    return { stdout: Buffer.concat(parts.stdout), stderr: Buffer.concat(parts.stderr) };
  }

  private tag(name: string, colour: boolean): string {
    if (!colour) return `[${name}] `;
    if (!this.colours.has(name)) this.colours.set(name, PALETTE[this.colours.size % PALETTE.length]!);
    return `\x1b[${this.colours.get(name)}m[${name}]\x1b[0m `;
  }
}

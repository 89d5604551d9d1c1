import type { Command } from 'commander';
import { BarepodError } from '../../errors.js';
import { followLogs, parseSince, readLogs, type ContainerLogLine } from '../../pod/logs.js';
import { runtimeFor } from '../common.js';
import { LogFormatter } from '../log-format.js';
import { colourFor } from '../output.js';

interface LogsFlags {
  container?: string;
  follow?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
  json?: boolean;
  raw?: boolean;
}

/**
 * Writes log lines as people read them: stdout lines to stdout and stderr
 * lines to stderr (each stream in order), optionally with the time and a
 * `[container]` prefix, coloured per container on a terminal; on a terminal
 * the text's takeover sequences are neutralised unless --raw.
 */
function linePrinter(o: { prefix: boolean; timestamps: boolean; raw: boolean }): (lines: ContainerLogLine[]) => void {
  const formatter = new LogFormatter({
    ...o,
    colour: { stdout: colourFor(process.stdout), stderr: colourFor(process.stderr) },
    terminal: { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true },
  });
  return (lines) => {
    const out = formatter.format(lines);
    if (out.stdout.length) process.stdout.write(out.stdout);
    if (out.stderr.length) process.stderr.write(out.stderr);
  };
}

/** `barepod logs`: what the containers wrote to stdout and stderr (conmon's CRI logs), once or followed. */
export function registerLogs(program: Command): void {
  program
    .command('logs')
    .argument('<pod>')
    .argument('[container]', 'one container (same as -c)')
    .description("print the stdout and stderr of a pod's containers (all of them, each line prefixed [name], unless one is named)")
    .option('-c, --container <name>', 'only this container')
    .option('-f, --follow', 'keep printing new lines, of containers added later too, until the pod is removed or its containers have exited (Ctrl-C ends it)')
    .option('--tail <n>', 'only the last n lines of each container')
    .option('--since <when>', 'only lines written since a duration ago (10s, 5m, 1h30m) or an RFC3339 time')
    .option('--timestamps', "show each line's time (RFC3339, nanoseconds)")
    .option(
      '--json',
      'print the lines as JSON lines, one object per log line ({time, stream, text, container}, and bytes (base64) when a line is not UTF-8), as events --json',
    )
    .option(
      '--raw',
      'on a terminal too, every byte as the container wrote it (by default a terminal gets escape sequences other than colours shown as ^[…, so a log cannot retitle the window, write the clipboard or clear the screen)',
    )
    .addHelpText(
      'after',
      `
stdout lines go to stdout and stderr lines to stderr. The [name] prefix is
coloured when the output is a terminal and NO_COLOR is not set.

To a pipe or a file, every byte a container wrote comes out as it was
(carriage returns, U+2028, bytes that are not UTF-8). To a terminal, colours
(SGR) pass but every other escape sequence and control character is shown
as ^[, ^G, … (as less -R does): a container's output cannot retitle the
window (OSC 0/1/2), write the clipboard (OSC 52), clear the screen or move
the cursor. --raw passes everything.

Examples:
  barepod logs web
  barepod logs web app --tail 20 --timestamps
  barepod logs web -c app --since 5m
  barepod logs web -f --tail 0
  barepod logs web --since 2026-01-02T15:04:05Z --json | jq -r .text
  barepod logs web app --raw           # escape sequences reach the terminal as written`,
    )
    .action(async (pod: string, positional: string | undefined, o: LogsFlags, cmd: Command) => {
      if (positional !== undefined && o.container !== undefined && positional !== o.container) {
        throw new BarepodError('usage', `two containers named: "${positional}" and -c "${o.container}"`, { hint: 'name one container, either way' });
      }
      const container = o.container ?? positional;
      if (o.tail !== undefined && !/^\d+$/.test(o.tail)) throw new BarepodError('invalid-value', `--tail "${o.tail}": must be a whole number`);
      const sel = {
        container,
        tail: o.tail === undefined ? undefined : Number(o.tail),
        sinceMs: o.since === undefined ? undefined : parseSince(o.since),
      };
      const rt = runtimeFor(cmd);
      const print = o.json
        ? (lines: ContainerLogLine[]) => lines.length > 0 && process.stdout.write(lines.map((l) => JSON.stringify(l) + '\n').join(''))
        : linePrinter({ prefix: container === undefined, timestamps: o.timestamps === true, raw: o.raw === true });
      if (!o.follow) {
        const lines = readLogs(rt, pod, sel);
        return print(lines);
      }
      // Ctrl-C (or SIGTERM) ends following normally: exit 0, nothing half-printed
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, onSignal);
      try {
        await followLogs(rt, pod, { ...sel, signal: stop.signal }, print);
      } finally {
        for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, onSignal);
      }
    });
}

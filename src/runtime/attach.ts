import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { BarepodError } from '../errors.js';
import { DetachMatcher } from '../plan/detach-keys.js';
import { bundledHelper } from './bundled.js';
import { launch, type Launch } from './exec.js';

/**
 * A session on a container's conmon attach socket: its output to our stdout
 * and stderr, our stdin to it (when asked), our terminal in raw mode and its
 * size following ours. conmon holds the container's terminal (`--terminal`)
 * or stdin pipe (`--stdin`); the bytes cross conmon's SOCK_SEQPACKET socket
 * through barepod-attach (bundles/attach), since Node opens stream sockets only.
 */
export interface AttachOptions {
  /** conmon's attach socket (`<bundle>/attach`) */
  socket: string;
  /** conmon's control fifo (`<bundle>/ctl`): our terminal's size goes there */
  ctl: string;
  /** the container has a terminal: ours goes raw, its size follows ours */
  tty: boolean;
  /** our stdin goes to the container */
  stdin: boolean;
  /** the key sequence that detaches (empty: none) */
  detachKeys: Buffer;
  /** names the container in errors */
  what: string;
}

export type AttachEnd = 'ended' | 'detached';

/** The relay's path: beside the bundle (dist/), where `npm run build` puts it. */
export const attachHelper = (): string => bundledHelper('barepod-attach', 'attach', "the relay to conmon's attach socket");

export interface Attached {
  /** runs the session until the container's output ends or the detach keys come */
  run(): Promise<AttachEnd>;
  /** ends the session without running it (a failed start) */
  close(): void;
}

/**
 * Connects to the attach socket (resolves once connected: output from then on
 * is not missed) and sends our terminal's size. The session itself starts
 * with run().
 */
export async function connectAttach(o: AttachOptions): Promise<Attached> {
  const helper = attachHelper();
  const run: Launch = launch([helper, ...(o.stdin ? [] : ['-n']), o.socket], {
    stdio: [o.stdin ? 'pipe' : 'ignore', 'inherit', 'pipe', 'pipe'],
    timeoutMs: 0,
    program: 'barepod-attach',
  });
  const child = run.child;
  const errors: Buffer[] = [];
  const stderr = child.stderr!;
  // its own complaints (connect failed) are ours to word; once connected, the container's stderr passes through
  let connected = false;
  stderr.on('data', (d: Buffer) => (connected ? process.stderr.write(d) : errors.push(d)));
  const ready = child.stdio[3] as Readable;
  const ok = await new Promise<boolean>((resolve) => {
    let text = '';
    ready.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('ok')) resolve(true);
    });
    ready.on('end', () => resolve(text.includes('ok')));
    ready.on('error', () => resolve(false));
  });
  if (!ok) {
    const { code } = await run.exited.catch(() => ({ code: 1 }));
    const why = Buffer.concat(errors)
      .toString()
      .trim()
      .replace(/^barepod-attach: /, '');
    throw new BarepodError(code === 3 ? 'invalid-state' : 'tool-failed', `cannot attach to ${o.what}: ${why || 'the relay ended'}`, {
      hint: code === 3 ? 'it is not running (barepod ps shows its state)' : undefined,
    });
  }
  connected = true;
  if (errors.length) process.stderr.write(Buffer.concat(errors));
  const resize = (): void => {
    const out = process.stdout;
    if (!o.tty || !out.isTTY || !out.rows || !out.columns) return;
    writeResize(o.ctl, out.rows, out.columns);
  };
  resize();
  // raw from now on: the container's first output (a shell's banner and prompt) comes as it was written
  const restore = o.tty && o.stdin && process.stdin.isTTY ? await makeRaw() : () => {};
  return {
    close() {
      restore();
      try {
        child.kill('SIGTERM');
      } catch {
        // gone already
      }
    },
    run: () => session(o, run, resize, restore).finally(restore),
  };
}

/**
 * Our terminal in raw mode, as podman's (and docker's) MakeRaw has it: no
 * echo, no line editing, no signals from keys (Ctrl-C is a byte for the
 * container), and no output processing: libuv's raw mode keeps ONLCR, which
 * would turn the container's own CR LF into CR CR LF and break a full-screen
 * program's bare LF (cursor down); `stty -opost` turns it off. Returns the
 * restore: the terminal's settings from before (libuv saved them), OPOST too.
 */
async function makeRaw(): Promise<() => void> {
  const input = process.stdin;
  input.setRawMode(true);
  await launch(['stty', '-opost'], { stdio: ['inherit', 'ignore', 'ignore'] }).exited.catch(() => undefined);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    input.setRawMode(false);
  };
}

/** `1 ROWS COLS` to conmon's ctl fifo resizes the container's terminal (measured: conmon 2.1.6; podman does the same). */
export function writeResize(ctl: string, rows: number, cols: number): void {
  let fd: number | undefined;
  try {
    // non-blocking: a conmon that is gone (no reader) must not hang us
    fd = fs.openSync(ctl, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    fs.writeSync(fd, `1 ${rows} ${cols}\n`);
  } catch {
    // conmon has gone, or never had a terminal: nothing to resize
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

async function session(o: AttachOptions, run: Launch, resize: () => void, restore: () => void): Promise<AttachEnd> {
  const child = run.child;
  const input = process.stdin;
  const matcher = new DetachMatcher(o.detachKeys);
  let detached = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    restore();
    child.kill('SIGTERM');
    process.kill(process.pid, sig);
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
  for (const s of signals) process.once(s, onSignal);
  process.stdout.on('resize', resize);
  const sink = child.stdin as Writable | null;
  sink?.on('error', () => {}); // the relay gone: its exit ends the session
  const onData = (chunk: Buffer): void => {
    const { forward, detach } = matcher.feed(chunk);
    if (forward.length) sink?.write(forward);
    if (detach) {
      detached = true;
      child.kill('SIGTERM');
    }
  };
  const onEnd = (): void => {
    sink?.end();
  };
  if (o.stdin) {
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  }
  try {
    const { code } = await run.exited;
    if (!detached && code !== 0 && code !== null) throw new BarepodError('tool-failed', `attach to ${o.what}: the relay exited with ${code}`);
    return detached ? 'detached' : 'ended';
  } finally {
    restore();
    for (const s of signals) process.removeListener(s, onSignal);
    process.stdout.removeListener('resize', resize);
    if (o.stdin) {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.pause();
      input.destroy();
    }
  }
}

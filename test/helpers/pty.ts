/**
 * Drives the CLI through a real pseudo-terminal, as a user at a terminal
 * would: python3's pty module (Node has none) forks it on a pty, relays the
 * test's writes to the terminal and the terminal's output back, resizes it on
 * request, and reports how the terminal was left (echo, canonical mode).
 */
import { execa } from 'execa';
import { onTestFinished } from 'vitest';
import { CLI, eventually, type TestEnv } from './harness.js';

const DRIVER = String.raw`
import os, pty, sys, select, struct, fcntl, termios, signal, json
rows, cols = (int(x) for x in os.environ['PTY_SIZE'].split())
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
def resize(*_):
    r, c = (int(x) for x in open(os.environ['PTY_RESIZE']).read().split())
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
signal.signal(signal.SIGUSR1, resize)
inp = True
while True:
    try:
        r, _, _ = select.select([fd] + ([0] if inp else []), [], [])
    except InterruptedError:
        continue
    if 0 in r:
        d = os.read(0, 4096)
        if d: os.write(fd, d)
        else: inp = False
    if fd in r:
        try: d = os.read(fd, 4096)
        except OSError: d = b''
        if not d: break
        os.write(1, d)
attrs = termios.tcgetattr(fd)
oflag, lflag = attrs[1], attrs[3]
_, status = os.waitpid(pid, 0)
sys.stderr.write(json.dumps({'exit': os.waitstatus_to_exitcode(status), 'echo': bool(lflag & termios.ECHO), 'icanon': bool(lflag & termios.ICANON), 'opost': bool(oflag & termios.OPOST)}) + '\n')
`;

export interface PtySession {
  /** everything the terminal showed so far */
  out(): string;
  /** types on the terminal */
  type(text: string): void;
  /** waits until the terminal has shown a match (after `from`, an index into out()) */
  waitFor(what: string | RegExp, from?: number): Promise<void>;
  /** resizes the terminal (the kernel sends SIGWINCH to barepod) */
  resize(rows: number, cols: number): Promise<void>;
  /** resolves once barepod has ended: its exit code and how it left the terminal (echo, line editing, output processing) */
  ended: Promise<{ exit: number; echo: boolean; icanon: boolean; opost: boolean }>;
  kill(): void;
}

/** Runs `barepod ARGS` on a fresh pty of ROWSxCOLS with this test's state root. */
export function onPty(t: TestEnv, args: string[], size: [number, number] = [30, 100]): PtySession {
  onTestFinished(() => void child.kill('SIGKILL'));
  const resizeFile = `${t.root}/pty-resize-${Math.random().toString(36).slice(2)}`;
  const child = execa('python3', ['-c', DRIVER, CLI, ...args], {
    env: { ...t.env, PTY_SIZE: `${size[0]} ${size[1]}`, PTY_RESIZE: resizeFile },
    extendEnv: false,
    buffer: false,
    reject: false,
    stdin: 'pipe',
  });
  const chunks: string[] = [];
  const err: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => err.push(d));
  const out = () => chunks.join('');
  const ended = child.then(() => {
    const last = err.join('').trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as { exit: number; echo: boolean; icanon: boolean; opost: boolean };
    } catch {
      throw new Error(`pty driver failed: ${err.join('')}\n${out()}`);
    }
  });
  ended.catch(() => {});
  return {
    out,
    type: (text) => void child.stdin.write(text),
    async waitFor(what, from = 0) {
      try {
        await eventually(() => {
          const seen = out().slice(from);
          return typeof what === 'string' ? seen.includes(what) : what.test(seen);
        }, 15_000);
      } catch {
        throw new Error(
          `the terminal did not show ${JSON.stringify(String(what))}; it shows:\n${JSON.stringify(out().slice(from))}\n(driver: ${err.join('')})`,
        );
      }
    },
    async resize(rows, cols) {
      const fs = await import('node:fs');
      fs.writeFileSync(resizeFile, `${rows} ${cols}`);
      child.kill('SIGUSR1');
    },
    ended,
    kill: () => void child.kill('SIGKILL'),
  };
}

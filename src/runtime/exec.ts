import type { ChildProcess, StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import { BarepodError, DeadlineError, ToolError } from '../errors.js';
import { formatDuration, parseDuration } from '../duration.js';
import { shellWords } from '../plan/narration.js';
import { explainFailure, explaining, explainRun } from './explain.js';
import { CALLER_VAR, callerMarkOf, readStartTime } from './procfs.js';

/**
 * With BAREPOD_TRACE=1, every external program and its duration go to stderr
 * (what barepod really does, and what it costs); BAREPOD_TRACE=FILE appends
 * them to that file instead, which also traces the exit handlers conmon runs.
 * Read when a line is written, never at module load: a V8 startup snapshot would freeze a value read at load
 * (test/unit/no-load-time-env.test.ts).
 */
const traceTo = (): string => process.env.BAREPOD_TRACE ?? '';
export const tracing = (): boolean => traceTo() !== '' && traceTo() !== '0';

/** Writes one trace line: ms since the process started, duration, what ran. */
export function trace(what: string, startedAt: number): void {
  if (!tracing()) return;
  const now = performance.now(); // ms since the process's time origin (a startup snapshot's run resets it)
  const line = `[trace ${process.pid} ${now.toFixed(1)}ms +${(now - startedAt).toFixed(1)}ms] ${what}\n`;
  if (traceTo() === '1') process.stderr.write(line);
  else fs.appendFileSync(traceTo(), line);
}

/**
 * Deadlines per program, in seconds: no program barepod runs may hold a pod's
 * lock forever. Keys are program names (a CNI plugin is `cni`, whatever its
 * binary); BAREPOD_TIMEOUT_<KEY> (a duration: 90s, 2m; 0 = none) overrides one,
 * BAREPOD_TIMEOUT every program without its own.
 */
export const DEFAULT_TIMEOUT_SECONDS: Record<string, number> = {
  runc: 60,
  conmon: 120, // until its reply: the `runc create` it runs
  cni: 60,
  iptables: 30, // iptables-save, -restore, ip6tables too
  mount: 60,
  umount: 60,
  nsenter: 60,
  skopeo: 30 * 60,
  zstd: 30 * 60,
  // unpacking a layer: its device nodes and its extended attributes
  xargs: 30 * 60,
  setfattr: 30 * 60,
  sh: 60,
  // not a program: how long a dead command's programs get to finish before whoever takes over its lock kills them
  orphans: 10,
};
/** Any other program. */
export const FALLBACK_TIMEOUT_SECONDS = 120;

/** The deadline key of a program: its file name (ip6tables, iptables-save and -restore count as iptables). */
export function programKey(file: string): string {
  const base = file.split('/').pop() ?? file;
  return /^ip6?tables(-legacy|-nft)?(-save|-restore)?$/.test(base) ? 'iptables' : base;
}

/** The deadline of a program in ms (0: none): BAREPOD_TIMEOUT_<KEY>, BAREPOD_TIMEOUT, then the default. */
export function timeoutFor(key: string, env: NodeJS.ProcessEnv = process.env): number {
  const name = `BAREPOD_TIMEOUT_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
  const own = env[name];
  const text = own !== undefined && own !== '' ? own : env.BAREPOD_TIMEOUT;
  if (text !== undefined && text !== '') return parseDuration(text, own ? name : 'BAREPOD_TIMEOUT');
  return (DEFAULT_TIMEOUT_SECONDS[key] ?? FALLBACK_TIMEOUT_SECONDS) * 1000;
}

export interface LaunchOptions {
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv | undefined;
  cwd?: string | undefined;
  /** its own process group (and session): the deadline then kills the whole group, the program's children too */
  detached?: boolean;
  /** the deadline's key (default: the program's file name, see programKey) */
  program?: string;
  /** the deadline in ms, instead of the program's (0: none, for an interactive `exec` or a background process) */
  timeoutMs?: number;
  /** argv as errors show it (credentials hidden) */
  shown?: string[];
  /** what errors call the program instead of its argv (a CNI plugin: its name and CNI_COMMAND) */
  label?: string;
  /** hint for a missing program */
  missingHint?: string;
  /**
   * a program meant to live on after this command (conmon, the prober, a
   * restart timer): it does not carry CALLER_VAR, so a takeover of this
   * command's lock after it died leaves it alone
   */
  outlives?: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One running program: its child process and its exit. */
export interface Launch {
  child: ChildProcess;
  /**
   * Resolves once the program has exited and its stdio closed; rejects with a
   * DeadlineError when the deadline killed it, or with missing-tool when it
   * does not exist.
   */
  exited: Promise<Exit>;
  /** Ends the deadline and lets the program live on without us (a monitor, a timer). */
  release(): void;
}

/**
 * The one way barepod starts a program: every spawn goes through here, so every
 * program has a deadline. When it passes, the program gets SIGKILL (its whole
 * process group when detached, so a wrapper's children go too) and `exited`
 * rejects with an error naming the program and its argv. Extra stdio (conmon's
 * fds 3 and 4) passes through `stdio`.
 */
export function launch(argv: string[], o: LaunchOptions = {}): Launch {
  const [file, ...args] = argv;
  if (!file) throw new Error('launch: empty argv');
  const key = o.program ?? programKey(file);
  const timeoutMs = o.timeoutMs ?? timeoutFor(key);
  const env: NodeJS.ProcessEnv = { ...(o.env ?? process.env) };
  if (o.outlives) delete env[CALLER_VAR];
  else env[CALLER_VAR] = callerMark();
  // child_process loaded on first use, not at module load: Node does not verify it in a V8 startup snapshot
  const child = process.getBuiltinModule('node:child_process').spawn(file, args, {
    stdio: o.stdio ?? ['ignore', 'pipe', 'pipe'],
    env,
    ...(o.cwd ? { cwd: o.cwd } : {}),
    ...(o.detached ? { detached: true } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  let released = false;
  const exited = new Promise<Exit>((resolve, reject) => {
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        const shown = o.shown ?? argv;
        killProcess(child, !!o.detached);
        const words = o.label ?? shellWords([(shown[0] ?? file).split('/').pop()!, ...shown.slice(1)]);
        reject(
          new DeadlineError(
            argv,
            timeoutMs,
            `${words}: no answer after ${formatDuration(timeoutMs)} (killed)`,
            `it hung; if it really needs longer, set BAREPOD_TIMEOUT_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')} (e.g. ${formatDuration(timeoutMs * 4)})`,
          ),
        );
      }, timeoutMs);
    }
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') reject(new BarepodError('missing-tool', `${file} not found`, { hint: o.missingHint ?? 'run scripts/setup' }));
      else reject(new ToolError(o.shown ?? argv, e.message));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  // a released (or deadline-killed) program's exit is nobody's business: never an unhandled rejection
  exited.catch(() => {});
  return {
    child,
    exited,
    release() {
      if (released) return;
      released = true;
      clearTimeout(timer);
      child.unref();
    },
  };
}

/** SIGKILL to a program (its process group when it has one of its own). */
function killProcess(child: ChildProcess, group: boolean): void {
  if (child.pid === undefined) return;
  try {
    if (group) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone already
    }
  }
}

/*
 * Every program launch runs gets CALLER_VAR=<pid>:<start time> of this
 * process in its environment, inherited by whatever it starts. A command
 * killed mid-way leaves its programs running (a CNI plugin finishing its
 * ADD, an iptables-restore); whoever takes over the dead command's lock ends
 * them first (endProgramsOf), so none changes the host after the repair.
 * Programs that outlive their command by design (conmon, the prober, a
 * restart timer: LaunchOptions.outlives) do not carry it.
 */
let mark: { pid: number; mark: string } | undefined;
/**
 * This process's mark: its pid and start time, so a reused pid is never taken for it (kept per pid: one made while a
 * start-up snapshot was built is never this process's).
 */
function callerMark(): string {
  if (mark?.pid !== process.pid) mark = { pid: process.pid, mark: callerMarkOf({ pid: process.pid, startTime: readStartTime(process.pid) ?? '' }) };
  return mark.mark;
}

/** Drops the mark kept (a start-up snapshot's warm-up, src/cli/warm.ts). */
export function forgetCallerMark(): void {
  mark = undefined;
}

export interface RunToolOptions {
  input?: string;
  hint?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** the deadline's key (default: the program's file name) */
  program?: string;
  timeoutMs?: number;
}

/**
 * Runs an external program to completion and returns its stdout; a failure
 * becomes a ToolError carrying argv and stderr. Plain child_process on
 * purpose: this is the hot path of every command, and execa on it would cost
 * every call's start-up ~16 ms of CPU and ~30 ms of wall time even bundled
 * (measured: `barepod --version` 64 → 80 ms CPU with execa 9.6 imported by the
 * entry, Node 20, this 2-core host; unbundled, its import alone is ~100 ms).
 * execa drives the tests; the lab runner runs its steps through launch too.
 * Within the program's deadline (see launch).
 */
export async function runTool(argv: string[], options: RunToolOptions = {}): Promise<string> {
  const [file] = argv;
  if (!file) throw new Error('runTool: empty argv');
  const started = performance.now();
  if (explaining) explainRun(shellWords(argv) + (options.input !== undefined ? ' < (input)' : ''));
  // its own process group: a deadline kills what the program started too (a CNI plugin's iptables, a wrapper's sleep)
  const run = launch(argv, {
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: options.env,
    cwd: options.cwd,
    detached: true,
    ...(options.program ? { program: options.program } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.hint ? { missingHint: options.hint } : {}),
  });
  const child = run.child;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  if (options.input !== undefined) {
    child.stdin!.on('error', () => {}); // a program that exits without reading its input: its exit status tells
    child.stdin!.end(options.input);
  }
  const { code, signal } = await run.exited.finally(() => trace(argv.join(' '), started));
  const stdout = Buffer.concat(out).toString('utf8').replace(/\n$/, '');
  const stderr = Buffer.concat(err).toString('utf8');
  if (code === 0) return stdout;
  if (explaining) explainFailure(`${file} exited with ${signal ?? code}: ${(stderr || stdout).trim().split('\n')[0] ?? ''}`);
  throw new ToolError(argv, stderr || stdout || `exited with ${signal ?? code}`, undefined, options.hint);
}

/**
 * Walks a lab: `run` for a student (each step's words, its commands and
 * their output, what to look at, the claims; a pause between steps on a
 * terminal) and `check` for CI (the same commands, quietly, and which claims
 * held). Both remove what the lab made, before (a run cut short last time)
 * and after, whatever happened.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { DeadlineError } from '../errors.js';
import { launch } from '../runtime/exec.js';
import { resolveSettings } from '../runtime/host.js';
import { selfArgv } from '../runtime/self.js';
import { fillCommand, type Lab, type LabCommand, type LabContext, type ShResult } from './lab.js';

export interface ClaimOutcome {
  step: number;
  says: string;
  held: boolean;
  why?: string;
}

export interface LabOutcome {
  lab: number;
  title: string;
  claims: ClaimOutcome[];
  /** a command that failed and ended the lab early */
  error?: string;
  /** the student quit (q) after this step */
  quitAfter?: number;
}

export interface RunOptions {
  /** the pods' name prefix (default lab<N>) */
  prefix?: string;
  /** the state root to use (else BAREPOD_ROOT or the default) */
  root?: string;
  /** check mode: no narration, commands' output kept */
  quiet: boolean;
  /** never wait for Enter between steps */
  yes: boolean;
  /** print a line (narration) */
  print: (line: string) => void;
}

const colour = (on: boolean) => (code: string, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

/** Where labs/ lives: beside dist/ in the repository (or the installed package). */
export function labsDir(): string {
  const launcher = selfArgv().at(-1) ?? '';
  const repo = path.resolve(path.dirname(launcher), '..');
  return path.join(repo, 'labs');
}

/** The environment of a lab's commands: barepod on the PATH, the same state root. */
function labEnv(root: string | undefined): NodeJS.ProcessEnv {
  const self = selfArgv();
  const env: NodeJS.ProcessEnv = { ...process.env };
  // the launcher's directory first, so `barepod` in a step is this very barepod
  if (self.length === 1) env.PATH = `${path.dirname(self[0]!)}:${env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  if (root) env.BAREPOD_ROOT = root;
  return env;
}

/** The command running now (its own process group), for Ctrl-C and timeouts to end. */
let running: number | undefined;
let interrupted = false;

/** Ctrl-C ends the step's command and the lab, which still tidies up. */
function onInterrupt(): void {
  interrupted = true;
  if (running) killGroup(running);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
}

/**
 * Runs one command line with sh through barepod's one way to run a program
 * (`launch`: its own process group, which Ctrl-C and the step's deadline
 * kill whole, a step's background `&` jobs too): output streamed to the
 * terminal as it comes when `echo`, and kept either way. Never rejects: how
 * the command ended is its result.
 */
async function shell(cmd: string, env: NodeJS.ProcessEnv, timeoutSeconds: number, echo: boolean): Promise<ShResult> {
  const run = launch(['sh', '-c', cmd], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, timeoutMs: timeoutSeconds * 1000, program: 'sh' });
  running = run.child.pid;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  // stderr goes to the terminal's stdout too, in order with the command's output, as a student reads it
  const keep = (into: Buffer[]) => (d: Buffer) => {
    if (echo) process.stdout.write(d);
    into.push(d);
  };
  run.child.stdout!.on('data', keep(out));
  run.child.stderr!.on('data', keep(err));
  const closed = new Promise<void>((resolve) => run.child.once('close', () => resolve()));
  let timedOut = false;
  const exit = await run.exited.catch((e: unknown) => {
    if (!(e instanceof DeadlineError)) throw e;
    timedOut = true;
    return { code: null, signal: 'SIGKILL' as const };
  });
  if (timedOut) await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]); // the killed group's last output (a process that left the group may hold the pipe)
  if (running === run.child.pid) running = undefined;
  const text = (b: Buffer[]) => Buffer.concat(b).toString('utf8');
  const stderr = text(err) + (timedOut ? `\n(killed after ${timeoutSeconds}s)` : '');
  return { code: exit.code ?? (exit.signal ? 128 : 1), stdout: text(out), stderr };
}

/** Runs a step's command; one that shows something asynchronous is retried quietly until it succeeds, then its output shown. */
async function runCommand(line: string, command: LabCommand, env: NodeJS.ProcessEnv, echo: boolean): Promise<ShResult> {
  const timeout = command.timeoutSeconds ?? 60;
  if (!command.retrySeconds) return shell(line, env, timeout, echo);
  const end = Date.now() + command.retrySeconds * 1000;
  for (;;) {
    const r = await shell(line, env, timeout, false);
    if (r.code === 0 || Date.now() > end || interrupted) {
      if (echo) process.stdout.write(r.stdout + r.stderr);
      return r;
    }
    await new Promise((done) => setTimeout(done, 200));
  }
}

/** The context steps and claims use. */
function makeContext(lab: Lab, opts: RunOptions, dir: string): LabContext {
  const prefix = opts.prefix ?? `lab${lab.id}`;
  const env = labEnv(opts.root);
  const ctx: LabContext = {
    pod: (short) => `${prefix}-${short}`,
    cgroupRoot: resolveSettings({ root: opts.root }).cgroupRoot,
    sh: (cmd, timeoutSeconds = 60) => shell(cmd, env, timeoutSeconds, false),
    async json(args) {
      const r = await shell(['barepod', ...args, '--json'].map(quote).join(' '), env, 60, false);
      if (r.code !== 0) throw new Error(`barepod ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout);
    },
    async pid(ref) {
      const [pod, container] = ref.split('/') as [string, string | undefined];
      const view = await ctx.json<{ sandbox: { pid: number }; containers: { name: string; pid: number | null }[] }>(['inspect', ctx.pod(pod)]);
      if (!container) return view.sandbox.pid;
      const c = view.containers.find((x) => x.name === container);
      if (!c?.pid) throw new Error(`lab: container ${container} of pod ${ctx.pod(pod)} is not running`);
      return c.pid;
    },
    vars: {},
    dir,
    repo: path.dirname(labsDir()),
    async until(fn, what, ms = 20_000) {
      const end = Date.now() + ms;
      for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`lab: gave up waiting for ${what} after ${ms / 1000}s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  return ctx;
}

/** Quotes one word for sh when it needs it. */
export function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Removes what a lab makes: its pods, then its own extra cleanup; best effort. */
async function tidy(lab: Lab, ctx: LabContext): Promise<void> {
  for (const p of lab.pods) await ctx.sh(`barepod pod rm -f ${quote(ctx.pod(p))} >/dev/null 2>&1`);
  if (lab.cleanup) await lab.cleanup(ctx).catch(() => undefined);
}

/** Waits for Enter on a terminal; `q`, Ctrl-D and Ctrl-C quit (the terminal is raw while it waits: Ctrl-C arrives as a key, not a signal). */
async function pause(): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  const answer = await new Promise<string>((done) => {
    rl.on('SIGINT', () => {
      interrupted = true;
      done('q');
    });
    rl.on('close', () => done('q'));
    rl.question('[Enter: next step · q: quit] ', done);
  });
  rl.close();
  return answer.trim().toLowerCase() !== 'q';
}

/** Runs (or checks) one lab and reports every claim. */
export async function runLab(lab: Lab, opts: RunOptions): Promise<LabOutcome> {
  const tty = !opts.quiet && process.stdout.isTTY === true;
  const c = colour(tty);
  const say = opts.quiet ? () => undefined : opts.print;
  // one scratch dir per lab and prefix, in the state root: a run killed outright leaves it where the next run's tidy-up finds it
  const dir = path.join(resolveSettings({ root: opts.root }).stateRoot, 'labs', opts.prefix ?? `lab${lab.id}`);
  const ctx = makeContext(lab, opts, dir);
  const outcome: LabOutcome = { lab: lab.id, title: lab.title, claims: [] };
  const interactive = tty && !opts.yes && process.stdin.isTTY === true;
  interrupted = false;
  process.on('SIGINT', onInterrupt);
  // `lab run 1 | head`: a reader that goes away ends the lab like Ctrl-C, which still tidies up
  const exitOnEpipe = process.stdout.listeners('error');
  process.stdout.removeAllListeners('error');
  process.stdout.on('error', onInterrupt);
  try {
    await tidy(lab, ctx);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    say(c('1', `Lab ${lab.id}: ${lab.title}`) + c('2', `  (seeds ${lab.seeds.join(', ')}; read labs/${lab.page})`));
    say(lab.summary);
    for (const [i, step] of lab.steps.entries()) {
      say('');
      say(c('1;36', `── Step ${i + 1}/${lab.steps.length}: ${step.title}`));
      say(step.say);
      for (const entry of step.run ?? []) {
        const command: LabCommand = typeof entry === 'string' ? { cmd: entry } : entry;
        const line = await fillCommand(command.cmd, ctx);
        say(c('1', `$ ${line}`));
        const r = await runCommand(line, command, labEnv(opts.root), !opts.quiet);
        if (interrupted) {
          outcome.error = 'interrupted';
          return outcome;
        }
        if (r.code !== 0 && !command.mayFail) {
          outcome.error = `step ${i + 1} (${step.title}): \`${line}\` exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`;
          say(c('31', `the command failed (exit ${r.code}): the lab stops here`));
          return outcome;
        }
      }
      if (step.look) say(c('33', `look: ${step.look}`));
      for (const claim of step.claims ?? []) {
        let verdict: true | string;
        try {
          verdict = await claim.holds(ctx);
        } catch (e) {
          verdict = e instanceof Error ? e.message : String(e);
        }
        const held = verdict === true;
        outcome.claims.push({ step: i + 1, says: claim.says, held, ...(held ? {} : { why: verdict as string }) });
        say(held ? c('32', `  ✓ ${claim.says}`) : c('31', `  ✗ ${claim.says}: ${verdict as string}`));
      }
      if (interrupted) {
        outcome.error = 'interrupted';
        return outcome;
      }
      if (interactive && i < lab.steps.length - 1 && !(await pause())) {
        if (interrupted) outcome.error = 'interrupted';
        else outcome.quitAfter = i + 1;
        break;
      }
    }
    return outcome;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.stdout.off('error', onInterrupt);
    for (const l of exitOnEpipe) process.stdout.on('error', l as (e: Error) => void);
    await tidy(lab, ctx);
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      fs.rmdirSync(path.dirname(dir)); // <root>/labs, when no other lab runs
    } catch {
      /* another lab's scratch is there */
    }
  }
}

/** True when every claim held and nothing failed on the way. */
export function passed(o: LabOutcome): boolean {
  return !o.error && o.claims.every((c) => c.held);
}

/**
 * Helpers of the chaos suite: stop or kill a CLI at a precise step (the
 * --explain narration announces each step on stderr before it runs), hold
 * another command inside a runc call (a wrapper named by BAREPOD_RUNC waits
 * while a gate file exists), and read what is really on the host: runc's
 * containers under the test root, their pids, cgroups, IPAM reservations.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cniIdPrefix } from '../../src/plan/network.js';
import { CLI, cgroupDirs, eventually, ipamReservations, type Result, type TestEnv } from './harness.js';

/** A v1/Pod whose app containers each write /served (so a test can see the app really ran) and then sleep. */
export function servingPod(t: TestEnv, name: string, containers = ['app', 'side']): string {
  const file = path.join(t.root, `${name}.yaml`);
  const c = (n: string) =>
    `    - name: ${n}\n      image: busybox\n      imagePullPolicy: Never\n      command: [sh, -c, "echo ${n} serving > /served; exec sleep 3600"]\n`;
  fs.writeFileSync(
    file,
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  terminationGracePeriodSeconds: 5\n  containers:\n${containers.map(c).join('')}`,
  );
  return file;
}

/** A CLI started with --explain that is sent `signal` as soon as its narration announces a step matching `step`. */
export interface Stepped {
  child: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** resolves once the signal was sent (rejects if the CLI ended first) */
  reached: Promise<void>;
  /** resolves with the exit code (128+n when killed by a signal) */
  closed: Promise<number>;
}

/** `step`: a pattern of the step's title, or the exact title. */
export function runUntilStep(t: TestEnv, args: string[], step: RegExp | string, signal: NodeJS.Signals, extraEnv: NodeJS.ProcessEnv = {}): Stepped {
  const matches = (title: string) => (typeof step === 'string' ? title === step : step.test(title));
  const child = spawn(CLI, [...args, '--explain'], { env: { ...t.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  let sent = false;
  const closed = new Promise<number>((resolve) =>
    child.once('close', (code, sig) => resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : sig === 'SIGTERM' ? 15 : 0))),
  );
  const reached = new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (!sent && err.split('\n').some((l) => /^\d+\. /.test(l) && matches(l.replace(/^\d+\. /, '')))) {
        sent = true;
        child.kill(signal);
        resolve();
      }
    });
    void closed.then(() => {
      if (!sent) reject(new Error(`barepod ${args.join(' ')} ended before step ${step}:\n${err}${out}`));
    });
  });
  return { child, stderr: () => err, stdout: () => out, reached, closed };
}

/** Live pids whose parent is `pid` (a stopped CLI's programs still finishing: runc, a CNI plugin, mount). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid && state !== 'Z') out.push(Number(p)); // a zombie has done its work (its stopped parent cannot reap it)
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Waits until a CLI stopped at a step has no program of its own still
 * running (one it started just before the stop finishes on its own), so
 * what is on the host from then on changes only by what the test does.
 */
export async function settled(s: Stepped): Promise<void> {
  await s.reached;
  // a program that waits on its stopped parent changes nothing meanwhile: one whose output fills the pipe (iptables-save on a
  // host with many rules), one still reading what the parent was writing (a CNI plugin's config, conmon's start pipe: Node's
  // stdio pipes are socketpairs); seen so on two polls in a row, not in passing
  let quiet = 0;
  const waiting = () => (childrenOf(s.child.pid!).every(blockedOnParent) ? ++quiet >= 2 : ((quiet = 0), false));
  await eventually(waiting, 30_000, `the programs of pid ${s.child.pid} to finish`).catch((e: unknown) => {
    const what = childrenOf(s.child.pid!).map((c) => {
      const read = (f: string) => fs.readFileSync(`/proc/${c}/${f}`, 'utf8').replace(/\0/g, ' ').trim();
      try {
        return `${c} (${read('wchan')}): ${read('cmdline')}`;
      } catch {
        return `${c} (gone)`;
      }
    });
    throw new Error(`${(e as Error).message}; still running: ${what.join('; ')}`);
  });
}

/** Whether a process sleeps in pipe or socket I/O (its stopped parent at the other end), its own children likewise or done. */
function blockedOnParent(pid: number): boolean {
  try {
    return (
      /pipe_(read|write)|unix_stream_(read_generic|sendmsg)|sock_alloc_send_pskb/.test(fs.readFileSync(`/proc/${pid}/wchan`, 'utf8')) &&
      childrenOf(pid).every(blockedOnParent)
    );
  } catch {
    return true; // gone meanwhile
  }
}

/**
 * Waits until no runc of the test's root runs: after a CLI is SIGKILLed, a
 * `runc create` that its conmon had begun finishes on its own; only then is
 * what runc has final.
 */
export async function runcIdle(t: TestEnv): Promise<void> {
  const mine = (p: string) => {
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return path.basename(argv[0] ?? '') === 'runc' && argv.includes(path.join(t.root, 'runc'));
    } catch {
      return false;
    }
  };
  await eventually(() => !fs.readdirSync('/proc').some((p) => /^\d+$/.test(p) && mine(p)), 30_000, 'runc calls of a killed command to finish');
}

/** Runs the CLI in the background with extra environment; its result once it ends, and its stderr so far. */
export function background(t: TestEnv, args: string[], extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; result: Promise<Result>; stderr(): string } {
  const child = spawn(CLI, args, { env: { ...t.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const result = new Promise<Result>((resolve) => child.once('close', (code) => resolve({ code: code ?? 1, stdout: out, stderr: err })));
  return { child, result, stderr: () => err };
}

/** The runc on PATH (what barepod runs when BAREPOD_RUNC is unset). */
export const realRunc = (): string => spawnSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).stdout.trim() || '/usr/sbin/runc';

/**
 * A runc that waits while `gate` exists (and says it got there with
 * `<gate>.reached`), then runs the real runc: given as BAREPOD_RUNC to one
 * command, it holds that command at its first runc call for as long as the
 * test wants, with no timing involved.
 */
export function runcGate(t: TestEnv): { env: NodeJS.ProcessEnv; reached(): Promise<void>; open(): void } {
  const real = realRunc();
  const gate = path.join(t.root, 'runc-gate');
  const wrapper = path.join(t.root, 'gated-runc');
  fs.writeFileSync(gate, '');
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\nif [ -e '${gate}' ]; then : > '${gate}.reached'; while [ -e '${gate}' ]; do sleep 0.02; done; fi\nexec '${real}' "$@"\n`,
    { mode: 0o755 },
  );
  return {
    env: { BAREPOD_RUNC: wrapper },
    reached: () => eventually(() => fs.existsSync(`${gate}.reached`), 30_000, 'the gated runc call').then(() => undefined),
    open: () => fs.rmSync(gate, { force: true }),
  };
}

/** runc's containers under the test's state root. */
export function runcIds(t: TestEnv): string[] {
  const r = spawnSync('runc', ['--root', path.join(t.root, 'runc'), 'list', '-q'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean).sort() : [];
}

/** The pid runc has for a container (its init process). */
export function runcPid(t: TestEnv, id: string): number {
  const r = spawnSync('runc', ['--root', path.join(t.root, 'runc'), 'state', id], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`runc state ${id}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { pid: number }).pid;
}

export const alive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
};

/** The pod's cgroup parent directories (every hierarchy). */
export const podCgroups = (t: TestEnv, pod: string): string[] => cgroupDirs(t.prefix).filter((d) => d.endsWith(`/${t.cgroupRoot}/${pod}`));

/** host-local reservations held by this test root's pods: "net/ip cid". */
export const reservationsOf = (t: TestEnv): string[] => {
  const prefix = cniIdPrefix(t.root);
  return ipamReservations()
    .filter(([, , cid]) => cid.startsWith(prefix))
    .map(([net, ip, cid]) => `${net}/${ip} ${cid}`)
    .sort();
};

/** The pod's record as barepod wrote it. */
export const record = (t: TestEnv, pod: string): { phase?: string; containers: { def: { name: string } }[]; creator?: { pid: number } } =>
  JSON.parse(fs.readFileSync(path.join(t.root, 'pods', pod, 'pod.json'), 'utf8'));

/** A narration line that marks a kill point: a numbered step title, or a program about to run. */
const KILL_POINT = /^(\d+\. |\s+\$ )/;

/** What a CLI killed at a kill point had announced, and whether it ended before the point came (it had fewer points). */
export interface Killed {
  seen: string[];
  finished: boolean;
  code: number | null;
}

/**
 * Runs the CLI with --explain (before a `--`: what follows is a container's
 * command) and SIGKILLs it when the `at`-th kill point (1-based) of its
 * narration arrives: deterministic, since stderr is a pipe Node writes
 * synchronously on Linux, never a sleep.
 */
export function killAt(t: TestEnv, args: string[], at: number): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const dash = args.indexOf('--');
    const argv = dash < 0 ? [...args, '--explain'] : [...args.slice(0, dash), '--explain', ...args.slice(dash)];
    const child = spawn(CLI, argv, { env: t.env, stdio: ['ignore', 'ignore', 'pipe'] });
    const seen: string[] = [];
    let buf = '';
    let killed = false;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        if (killed || !KILL_POINT.test(line)) continue;
        seen.push(line);
        if (seen.length === at) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ seen, finished: !killed, code }));
  });
}

/** The kill points of one clean run of a command: its narration's step titles and programs. */
export async function pointsOf(t: TestEnv, args: string[]): Promise<string[]> {
  const r = await killAt(t, args, Number.MAX_SAFE_INTEGER);
  if (!r.finished) throw new Error(`${args.join(' ')} did not finish`);
  return r.seen;
}

/** Which of `n` kill points to visit this run: all, BAREPOD_CHAOS_SAMPLE of them chosen by the day (so runs visit every one over time), or those BAREPOD_CHAOS_POINTS lists. */
export function sample(n: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i + 1);
  // BAREPOD_CHAOS_POINTS=10,12 replays the points a failed run named
  const only = (process.env.BAREPOD_CHAOS_POINTS ?? '').split(',').filter(Boolean).map(Number);
  if (only.length) return all.filter((i) => only.includes(i));
  const want = Number(process.env.BAREPOD_CHAOS_SAMPLE ?? 0);
  if (!want || want >= n) return all;
  const day = Math.floor(Date.now() / 86_400_000);
  return all.filter((i) => (i + day) % Math.ceil(n / want) === 0);
}

/**
 * A runc whose `runc init` stops inside its copy guard: at every start (create or exec) runc init bind-mounts the runc
 * binary read-only on a runc.XXXXXX file in the container's state dir, opens it, and unmounts it (runc's guard against
 * CVE-2019-5736). Under strace, the first umount2 of each process of a `runc VERB` is held for a minute, so the mount
 * is there for as long as the test wants: a kill then leaves exactly what a runc killed at that point leaves. Given as
 * BAREPOD_RUNC; other runc calls run the real runc directly. `held(id)` waits for that mount of a container id.
 */
export function runcHeldInGuard(
  t: TestEnv,
  verb: 'create' | 'exec',
): { env: NodeJS.ProcessEnv; held(id: string): Promise<string>; release(): void; end(): void } {
  const real = realRunc();
  const strace = spawnSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).stdout.trim();
  if (!strace) throw new Error('strace is missing: scripts/setup installs it (apt-get install strace)');
  const wrapper = path.join(t.root, `runc-held-${verb}`);
  fs.mkdirSync(t.root, { recursive: true });
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\nfor a in "$@"; do if [ "$a" = ${verb} ]; then exec '${strace}' -f -qq -o /dev/null -e trace=umount2 -e inject=umount2:delay_enter=60000000:when=1 -- '${real}' "$@"; fi; done\nexec '${real}' "$@"\n`,
    { mode: 0o755 },
  );
  const runcRoot = path.join(t.root, 'runc');
  return {
    env: { BAREPOD_RUNC: wrapper },
    held: (id) =>
      eventually(
        () =>
          fs
            .readFileSync('/proc/self/mountinfo', 'utf8')
            .split('\n')
            .map((l) => l.split(' ')[4] ?? '')
            .find((mp) => mp.startsWith(`${runcRoot}/${id}/runc.`)),
        30_000,
        `runc init's bind mount in ${runcRoot}/${id}`,
      ),
    // the tracer gone, what it held goes on at once (runc's own later umount2 calls are held too, the parent's included)
    release: () => killHolding(runcRoot, false),
    // for a test's end: what is still held never goes on after it (a released runc create would make a container)
    end: () => killHolding(runcRoot, true),
  };
}

/** SIGKILL to the strace processes of a runc root (and, with `held`, to the runc processes they trace first). */
function killHolding(runcRoot: string, held: boolean): void {
  const tracers: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (!argv.includes(runcRoot)) continue;
      if (path.basename(argv[0] ?? '') === 'strace') tracers.push(Number(p));
      else if (held && fs.readFileSync(`/proc/${p}/status`, 'utf8').match(/^TracerPid:\s+(\d+)/m)?.[1] !== '0') process.kill(Number(p), 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const pid of [...(held ? runcInitsOf(`${runcRoot}/`) : []), ...tracers]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * The runc init processes of a container's state dir (runc passes the dir to each in _LIBCONTAINER_STATEDIR), or with
 * a trailing slash, of every state dir under a runc root.
 */
export function runcInitsOf(dir: string): number[] {
  const matches = (e: string) => (dir.endsWith('/') ? e.startsWith(`_LIBCONTAINER_STATEDIR=${dir}`) : e === `_LIBCONTAINER_STATEDIR=${dir}`);
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').some(matches);
      } catch {
        return false;
      }
    })
    .map(Number);
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BarepodError, ToolError } from '../errors.js';
import { launch, runTool, trace } from './exec.js';
import { unmountAll } from './mounts.js';
import { readCmdline } from './procfs.js';
import { shellWords } from '../plan/narration.js';
import { explain, explaining, explainRun } from './explain.js';

/** What `runc state` reports for one container. */
export interface RuncState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
}

/** What `runc exec` runs besides the command; unset fields keep the container's own (config.json's process). */
export interface ExecOptions {
  /** a pseudo-terminal for the process (runc allocates it and puts ours in raw mode meanwhile) */
  tty: boolean;
  /** pass our stdin on (otherwise the process reads /dev/null) */
  stdin: boolean;
  /** KEY=VALUE added to the container's environment */
  env: string[];
  cwd?: string | undefined;
  user?: { uid: number; gid: number } | undefined;
}

/**
 * The runc adapter. Every call passes `--root`, so barepod's containers never
 * mix with anyone else's runc state. `runc create` is not here: conmon runs it.
 */
export class Runc {
  constructor(
    readonly bin: string,
    readonly root: string,
  ) {}

  private run(args: string[]): Promise<string> {
    return runTool([this.bin, '--root', this.root, ...args], { program: 'runc' }); // BAREPOD_TIMEOUT_RUNC, whatever BAREPOD_RUNC names
  }

  /** Starts a created container (runs the user's process). */
  async start(id: string): Promise<void> {
    await this.run(['start', id]);
  }

  /** Sends a signal; `all` signals every process of the container's cgroup. */
  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), id, signal]);
  }

  /**
   * `runc exec` in the foreground, stdio inherited: runc relays the output and
   * the signals it gets to the process, and exits with its status. Resolves
   * with that status (128 + n when runc itself died of signal n). Meanwhile
   * barepod ignores SIGINT, SIGTERM and SIGHUP (quietly): Ctrl-C reaches runc
   * too, being in the terminal's foreground process group, and runc forwards
   * it. Not runTool: nothing is captured, and no deadline (a user's shell may
   * run for hours).
   */
  async exec(id: string, command: string[], o: ExecOptions): Promise<number> {
    const argv = [
      this.bin,
      '--root',
      this.root,
      'exec',
      ...(o.tty ? ['--tty'] : []),
      ...o.env.flatMap((e) => ['--env', e]),
      ...(o.cwd ? ['--cwd', o.cwd] : []),
      ...(o.user ? ['--user', `${o.user.uid}:${o.user.gid}`] : []),
      id,
      ...command,
    ];
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const ignore = () => {};
    for (const s of signals) process.on(s, ignore);
    const started = performance.now();
    if (explaining) explainRun(shellWords(argv));
    try {
      const { code, signal } = await launch(argv, { stdio: [o.stdin ? 'inherit' : 'ignore', 'inherit', 'inherit'], timeoutMs: 0 }).exited;
      return code ?? 128 + (signal ? os.constants.signals[signal] : 0);
    } finally {
      trace(argv.join(' '), started);
      for (const s of signals) process.off(s, ignore);
    }
  }

  /** Deletes a stopped container's state and leaf cgroup (plain delete: no -f, which sleeps 100 ms first). */
  async delete(id: string): Promise<void> {
    await this.run(['delete', id]);
  }

  /**
   * Clears what a runc killed mid-way leaves in a container's state dir. At every start (`runc create`, `runc exec`)
   * runc init bind-mounts the runc binary read-only on a runc.XXXXXX file there, opens it and unmounts it again (its
   * guard against CVE-2019-5736); killed in between (a probe's exec as its prober is stopped, an OOM kill), it leaves
   * the mount and the file. `runc delete` then leaves the dir, and runc refuses the id for good ("container with given
   * ID already exists"). The guard's mounts are detached (lazily: a live runc init in that window fails its own
   * unmount and gives up, as a killed one would) and their files removed; a dir runc no longer knows (no state.json)
   * goes whole. The dir is runc's, under barepod's private root: no container can put a path there. One readdir when
   * there is nothing (on every stop and start). True when there was something to clear.
   */
  async clearLeftovers(id: string): Promise<boolean> {
    const dir = path.join(this.root, id);
    const look = (): string[] | undefined => {
      try {
        return fs.readdirSync(dir);
      } catch {
        return undefined; // no dir: nothing left
      }
    };
    let entries = look();
    const isGuard = (e: string) => /^runc\.[A-Za-z0-9]{6}$/.test(e);
    if (!entries || (entries.includes('state.json') && !entries.some(isGuard))) return false;
    // no state.json is also how a runc create looks until it is done (a killed command's conmon runs it on): let it end
    if (!entries.includes('state.json')) {
      await this.settle(id);
      entries = look();
      if (!entries) return false;
    }
    // a runc at work here owns what is there (a live runc init's guard goes with its own unmount)
    if (this.atWorkOn(id)) return false;
    const guards = entries.filter(isGuard);
    const stale = !entries.includes('state.json');
    if (guards.length === 0 && !stale) return false;
    await unmountAll(dir, [], { lazy: true });
    if (stale) fs.rmSync(dir, { recursive: true, force: true });
    else for (const g of guards) fs.rmSync(path.join(dir, g), { force: true });
    return true;
  }

  /**
   * Waits while a runc still works on a container it does not know yet: a killed command's conmon runs its
   * `runc create` on (the lock the command held was taken over). Then the caller finds it known (and replaces it, as
   * any leftover) or gone, rather than racing it for the same id. Up to `ms`; a stat when there is no such dir.
   */
  async settle(id: string, ms = 10_000): Promise<void> {
    const dir = path.join(this.root, id);
    if (!fs.existsSync(dir) || this.knows(id) || !this.atWorkOn(id)) return;
    if (explaining) explain(`runc is still at work on ${id} (a killed command's runc create): wait for it`);
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && fs.existsSync(dir) && !this.knows(id) && this.atWorkOn(id)) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Whether a runc process works on this container now: a `runc … --root ROOT … ID` (create, exec, delete; a wrapper
   * BAREPOD_RUNC names runs one) or a runc init of its state dir (_LIBCONTAINER_STATEDIR). Only root's processes of
   * this mount namespace count, where barepod's runc runs (runc init makes its guard before it enters any namespace):
   * a container's process (root, in a mount namespace of its own) or another user's can carry that argv or variable,
   * and must not hold the clearing up. One /proc scan: only where a state dir has no state.json, which is rare.
   */
  private atWorkOn(id: string): boolean {
    const dir = path.join(this.root, id);
    let ownMounts: string | undefined;
    const ours = (p: string): boolean => {
      try {
        ownMounts ??= fs.readlinkSync('/proc/self/ns/mnt');
        return fs.statSync(`/proc/${p}`).uid === 0 && fs.readlinkSync(`/proc/${p}/ns/mnt`) === ownMounts;
      } catch {
        return false; // gone
      }
    };
    for (const p of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
      const argv = readCmdline(Number(p));
      let looksAtWork: boolean;
      if (argv[1] === 'init') {
        try {
          looksAtWork = fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(`_LIBCONTAINER_STATEDIR=${dir}`);
        } catch {
          looksAtWork = false; // gone
        }
      } else looksAtWork = path.basename(argv[0] ?? '') !== 'conmon' && argv.includes(this.root) && argv.includes(id);
      if (looksAtWork && ours(p)) return true;
    }
    return false;
  }

  /** Ids (starting with `prefix`) whose state dir runc no longer knows (no state.json): what a runc killed mid-way left (clearLeftovers). */
  leftovers(prefix = ''): string[] {
    return this.stateDirs(prefix, false);
  }

  /** Every container id with a state dir under this root, known to runc or not (gc's sweep). */
  allIds(): string[] {
    return this.stateDirs('', 'either');
  }

  /** The container's state, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncState | undefined> {
    try {
      return JSON.parse(await this.run(['state', id])) as RuncState;
    } catch (e) {
      if (e instanceof ToolError && /does not exist|not exist/.test(e.stderr)) return undefined;
      if (e instanceof SyntaxError) throw new BarepodError('tool-failed', `runc state ${id}: unreadable output`);
      throw e;
    }
  }

  /**
   * Whether runc holds state for a container: its directory under --root.
   * A file check, not a `runc state` process: this sits on every teardown path.
   */
  knows(id: string): boolean {
    return fs.existsSync(path.join(this.root, id, 'state.json'));
  }

  /**
   * The init process runc recorded for a container (its state.json's pid and
   * start time, the very pair `runc state` judges "stopped" by), read without
   * running runc: undefined when runc does not know the container or the file
   * is not one this reader understands (a caller then asks `runc state`).
   */
  initProcess(id: string): { pid: number; startTime: string } | undefined {
    try {
      const s = JSON.parse(fs.readFileSync(path.join(this.root, id, 'state.json'), 'utf8')) as { init_process_pid?: unknown; init_process_start?: unknown };
      const pid = s.init_process_pid;
      const start = s.init_process_start;
      if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
      if (typeof start !== 'number' || !Number.isInteger(start) || start < 0) return undefined;
      return { pid, startTime: String(start) };
    } catch {
      return undefined;
    }
  }

  /**
   * Every container id under this root (runc's own state directories; no process spawned), or those starting
   * with `prefix` (one pod's, "<pod>."): the others' state files are not looked at, so a command on one pod
   * does not stat every container of the state root.
   */
  ids(prefix = ''): string[] {
    return this.stateDirs(prefix, true);
  }

  /** The container ids (starting with `prefix`) of the state dirs under this root: those runc knows (a state.json), or not. */
  private stateDirs(prefix: string, known: boolean | 'either'): string[] {
    try {
      return fs
        .readdirSync(this.root)
        .filter((id) => id.startsWith(prefix) && (known === 'either' || fs.existsSync(path.join(this.root, id, 'state.json')) === known));
    } catch {
      return [];
    }
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import type { Limits } from '../model.js';
import type { CgroupLimit, CgroupReading, CgroupResources } from '../plan/pod-views.js';
import { CPU_PERIOD, cpuQuota, milliCpuToShares, sharesToWeight } from '../oci/options.js';
import { monitorCgroupOf } from '../plan/pod-plan.js';
import { explain, explaining } from './explain.js';
import { readProcCgroups } from './procfs.js';

/** One mounted cgroup hierarchy: v1 has one per controller group, v2 a single unified one. */
export interface CgroupMount {
  mountpoint: string;
  version: 1 | 2;
  /** v1: the controllers (and name=...) of this hierarchy; v2: empty */
  controllers: string[];
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Reads the cgroup hierarchies mounted in this mount namespace from /proc/self/mountinfo. */
export function readCgroupMounts(mountinfo = '/proc/self/mountinfo'): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of fs.readFileSync(mountinfo, 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountpoint = unescapeMount(left.split(' ')[4] ?? '');
    const [fstype, , superOpts = ''] = right.split(' ');
    if (fstype === 'cgroup2') out.push({ mountpoint, version: 2, controllers: [] });
    else if (fstype === 'cgroup') {
      const known = [
        'cpu',
        'cpuacct',
        'cpuset',
        'memory',
        'devices',
        'freezer',
        'blkio',
        'pids',
        'hugetlb',
        'net_cls',
        'net_prio',
        'perf_event',
        'rdma',
        'misc',
      ];
      const controllers = superOpts.split(',').filter((o) => known.includes(o) || o.startsWith('name='));
      out.push({ mountpoint, version: 1, controllers });
    }
  }
  return out;
}

/** Whether a /proc/<pid>/cgroup line's controller list names the same v1 hierarchy as a mount's (in any order). */
const sameControllers = (listed: string[], mounted: string[]): boolean =>
  mounted.length > 0 && listed.length === mounted.length && listed.every((c) => mounted.includes(c));

/** A process's cgroup in one mounted hierarchy, from its /proc/<pid>/cgroup lines (by controller list); undefined when none names it. */
function cgroupIn(m: CgroupMount, current: Record<string, string>): string | undefined {
  const key = m.version === 2 ? '' : Object.keys(current).find((k) => k !== '' && sameControllers(k.split(','), m.controllers));
  return key === undefined ? undefined : current[key];
}

/** Mount points in mountinfo escape spaces and the like as octal (\040). */
export function unescapeMount(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** cgroup v2 when /sys/fs/cgroup itself is cgroup2 (unified mode); otherwise v1 (legacy or hybrid), as runc decides. */
export function detectCgroupVersion(root = '/sys/fs/cgroup'): 1 | 2 {
  try {
    return fs.statfsSync(root).type === CGROUP2_SUPER_MAGIC ? 2 : 1;
  } catch {
    return 1;
  }
}

/** The pod-parent files barepod writes for a set of limits, per controller: pure, so v2 and v1 are unit-tested. */
export function limitFiles(version: 1 | 2, limits: Limits): { controller: string; file: string; value: string }[] {
  const files: { controller: string; file: string; value: string }[] = [];
  if (version === 2) {
    if (limits.memoryBytes !== undefined) files.push({ controller: 'memory', file: 'memory.max', value: String(limits.memoryBytes) });
    if (limits.cpuMillis !== undefined) files.push({ controller: 'cpu', file: 'cpu.max', value: `${cpuQuota(limits.cpuMillis)} ${CPU_PERIOD}` });
    if (limits.pids !== undefined) files.push({ controller: 'pids', file: 'pids.max', value: String(limits.pids) });
    if (limits.cpuRequestMillis !== undefined)
      files.push({ controller: 'cpu', file: 'cpu.weight', value: String(sharesToWeight(milliCpuToShares(limits.cpuRequestMillis))) });
    if (limits.memoryRequestBytes !== undefined) files.push({ controller: 'memory', file: 'memory.low', value: String(limits.memoryRequestBytes) });
  } else {
    if (limits.memoryBytes !== undefined) files.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: String(limits.memoryBytes) });
    if (limits.cpuMillis !== undefined) {
      files.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD) });
      files.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(cpuQuota(limits.cpuMillis)) });
    }
    if (limits.pids !== undefined) files.push({ controller: 'pids', file: 'pids.max', value: String(limits.pids) });
    // v1 has no memory.low: a memory request is only recorded there
    if (limits.cpuRequestMillis !== undefined) files.push({ controller: 'cpu', file: 'cpu.shares', value: String(milliCpuToShares(limits.cpuRequestMillis)) });
  }
  return files;
}

/** The file each reading comes from, per cgroup version: a table, so v1 and v2 are read by the same code. */
export const RESOURCE_FILES = {
  1: {
    memoryLimit: { controller: 'memory', file: 'memory.limit_in_bytes' },
    memoryUsage: { controller: 'memory', file: 'memory.usage_in_bytes' },
    cpuQuota: { controller: 'cpu', file: 'cpu.cfs_quota_us' },
    cpuPeriod: { controller: 'cpu', file: 'cpu.cfs_period_us' },
    cpuUsage: { controller: 'cpuacct', file: 'cpuacct.usage' },
    pidsMax: { controller: 'pids', file: 'pids.max' },
    pidsCurrent: { controller: 'pids', file: 'pids.current' },
  },
  2: {
    memoryLimit: { controller: 'memory', file: 'memory.max' },
    memoryUsage: { controller: 'memory', file: 'memory.current' },
    cpuQuota: { controller: 'cpu', file: 'cpu.max' },
    cpuPeriod: { controller: 'cpu', file: 'cpu.max' },
    cpuUsage: { controller: 'cpu', file: 'cpu.stat' },
    pidsMax: { controller: 'pids', file: 'pids.max' },
    pidsCurrent: { controller: 'pids', file: 'pids.current' },
  },
} as const;

/** v1 writes "no limit" as -1 (cpu quota) or as its page-counter maximum (memory, 2^63 rounded to a page): both are 'max'. */
const V1_UNLIMITED = 2 ** 62;

/** Parses a limit file ("max", "-1", "67108864", v1's 9223372036854771712); undefined for anything else. */
export function parseCgroupLimit(text: string | undefined): CgroupLimit | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'max' || t === '-1') return 'max';
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n >= V1_UNLIMITED ? 'max' : n;
}

/** Parses v2's cpu.max ("max 100000", "50000 100000"). */
export function parseCpuMax(text: string | undefined): { quota: CgroupLimit; period: number } | undefined {
  const [q, p] = (text ?? '').trim().split(/\s+/);
  const quota = parseCgroupLimit(q);
  const period = Number(p);
  return quota === undefined || !Number.isInteger(period) || period <= 0 ? undefined : { quota, period };
}

/** A key of a flat-keyed cgroup file ("usage_usec 39175" in cpu.stat). */
export function flatKey(text: string | undefined, key: string): number | undefined {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * The cgroupfs adapter: creates pod parents with their limits and removes
 * them bottom-up. runc creates the per-container children (and any missing
 * intermediate directory), but never writes a parent's limits and never
 * removes more than the leaf: both are barepod's job.
 */
export class CgroupFs {
  constructor(
    readonly version: 1 | 2,
    readonly mounts: CgroupMount[],
  ) {}

  /** The adapter for this host's mount namespace. */
  static forHost(): CgroupFs {
    const version = detectCgroupVersion();
    const all = readCgroupMounts();
    const mounts = version === 2 ? all.filter((m) => m.version === 2 && m.mountpoint === '/sys/fs/cgroup') : all;
    return new CgroupFs(version, mounts);
  }

  /** The directory of a cgroup path in the hierarchy holding `controller` (v2: the unified one). */
  dirFor(controller: string, cgroupPath: string): string | undefined {
    const mount =
      this.version === 2 ? this.mounts.find((m) => m.version === 2) : this.mounts.find((m) => m.version === 1 && m.controllers.includes(controller));
    return mount ? path.join(mount.mountpoint, cgroupPath) : undefined;
  }

  /** Every directory a cgroup path has across the hierarchies (for inspection and teardown). */
  dirsOf(cgroupPath: string): string[] {
    return this.mounts.map((m) => path.join(m.mountpoint, cgroupPath)).filter((d) => fs.existsSync(d));
  }

  /** Creates the pod parent (in every hierarchy) and writes the pod-level limits on it. */
  createParent(cgroupPath: string, limits: Limits): void {
    const files = limitFiles(this.version, limits);
    if (this.version === 2) {
      const unified = this.mounts.find((m) => m.version === 2);
      if (!unified) throw new BarepodError('missing-tool', 'no cgroup2 hierarchy is mounted at /sys/fs/cgroup');
      this.createV2(unified.mountpoint, cgroupPath, [...new Set(files.map((f) => f.controller))]);
    } else {
      // the pod parent exists in every hierarchy runc will use (in hybrid mode, the unified one too)
      for (const m of this.mounts) fs.mkdirSync(path.join(m.mountpoint, cgroupPath), { recursive: true });
      if (explaining)
        explain(
          `mkdir ${cgroupPath} in each of the ${this.mounts.length} cgroup hierarchies (${this.mounts.map((m) => path.basename(m.mountpoint)).join(', ')})`,
        );
    }
    for (const f of files) {
      const dir = this.dirFor(f.controller, cgroupPath);
      if (!dir) {
        throw new BarepodError('missing-tool', `the ${f.controller} cgroup controller is not mounted: cannot set the pod's ${f.controller} limit`, {
          hint: 'mount the controller or drop the limit',
        });
      }
      fs.mkdirSync(dir, { recursive: true });
      writeCgroupFile(path.join(dir, f.file), f.value);
    }
  }

  /** v2: make every level down to the pod parent, enabling the needed controllers in each ancestor's subtree_control. */
  private createV2(mountpoint: string, cgroupPath: string, needed: string[]): void {
    const parts = cgroupPath.split('/').filter(Boolean);
    let dir = mountpoint;
    for (const part of parts) {
      const available = readWords(path.join(dir, 'cgroup.controllers'));
      const enabled = new Set(readWords(path.join(dir, 'cgroup.subtree_control')));
      const missing = needed.filter((c) => !available.includes(c));
      if (missing.length) {
        // checked before any write, so a refused pod leaves no controller enabled behind it
        throw new BarepodError(
          'missing-tool',
          `the ${missing.join(', ')} controller is not available in ${dir} (cgroup v2): cannot set the pod's ${missing.join(', ')} limit`,
          {
            hint: 'enable it in the parent cgroup (cgroup.subtree_control) or drop the limit',
          },
        );
      }
      for (const c of needed) if (!enabled.has(c)) writeCgroupFile(path.join(dir, 'cgroup.subtree_control'), `+${c}`);
      dir = path.join(dir, part);
      fs.mkdirSync(dir, { recursive: true });
      if (explaining) explain(`mkdir ${dir}`);
    }
  }

  /**
   * Moves a process into a cgroup (made where missing) in every hierarchy: on
   * v1 each mounted one (name=systemd, which session tracking uses, and every
   * controller's, as runc joins them), on v2 the unified one. A v1 cpuset
   * directory gets its parent's cpus and mems first (empty ones admit no task).
   * A hierarchy where the process already is in that cgroup (`current`: its
   * /proc/<pid>/cgroup, read unless given) gets no write: every write to
   * cgroup.procs, a no-op one too, takes the kernel's cgroup_threadgroup_rwsem
   * for writing, and the first such write after a quiet moment waits for an RCU
   * grace period (7-25 ms measured here, bench/README.md "Supervision"). A
   * restart's conmon is born in the leaf its exit handler runs in.
   */
  placeProcess(cgroupPath: string, pid: number, current: Record<string, string> = readProcCgroups(pid)): void {
    const target = path.posix.join('/', cgroupPath);
    const there = (m: CgroupMount): boolean => cgroupIn(m, current) === target;
    if (this.version === 2) {
      const unified = this.mounts.find((m) => m.version === 2);
      if (!unified) throw new BarepodError('missing-tool', 'no cgroup2 hierarchy is mounted at /sys/fs/cgroup');
      if (there(unified)) return;
      this.createV2(unified.mountpoint, cgroupPath, []);
      writeCgroupFile(path.join(unified.mountpoint, cgroupPath, 'cgroup.procs'), String(pid));
      return;
    }
    for (const m of this.mounts) {
      if (there(m)) continue;
      const dir = path.join(m.mountpoint, cgroupPath);
      fs.mkdirSync(dir, { recursive: true });
      if (m.controllers.includes('cpuset')) inheritCpuset(m.mountpoint, cgroupPath);
      writeCgroupFile(path.join(dir, 'cgroup.procs'), String(pid));
    }
  }

  /**
   * Keeps the kernel's cgroup moves fast while a launch runs, until the
   * returned function is called. The first write to any cgroup.procs after a
   * quiet moment takes cgroup_threadgroup_rwsem for writing only after an RCU
   * grace period (rcu_sync_enter: 5-20 ms on this kind of machine); for about
   * one more grace period after a write the next one waits for nothing. runc
   * create pays that wait when it moves its init into the container's cgroup,
   * on the launch's critical path, and so did barepod's move of conmon into
   * its monitor leaf. Here this process writes its own pid to its own cgroup
   * (a move to where it is: nothing changes) from the thread pool, at once and
   * then every few ms: the grace period passes beside the launch's own work
   * (the rootfs, the spec) and the moves that matter find the path open.
   * Measured, conmon + runc create: 52 -> 42 ms (bench/README.md).
   * Best effort: any error stops it; /proc/self/cgroup is read before each
   * write, so a move of this process by someone else is never undone.
   */
  warmMoves(everyMs = 3, current: () => Record<string, string> = () => readProcCgroups(process.pid)): () => void {
    // the rwsem is one for all hierarchies: a controller-less one (cgroup2, a hybrid's unified, name=systemd) is the quietest to write
    const m = this.mounts.find((x) => x.version === 2) ?? this.mounts.find((x) => x.controllers.every((c) => c.startsWith('name='))) ?? this.mounts[0];
    let stopped = m === undefined;
    let timer: NodeJS.Timeout | undefined;
    const move = (): void => {
      const own = cgroupIn(m!, current());
      if (stopped || own === undefined) return;
      fs.writeFile(path.join(m!.mountpoint, own, 'cgroup.procs'), String(process.pid), (e) => {
        if (stopped || e) return;
        timer = setTimeout(move, everyMs);
        timer.unref();
      });
    };
    move();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /**
   * Empties a monitor leaf before its removal: waits a moment for its
   * processes to end (a conmon finishing its exit command), then moves the
   * rest (an exit handler still waiting for the pod's lock) to the root of
   * each hierarchy, where they end on their own.
   */
  async evacuate(cgroupPath: string, waitMs = 1000): Promise<number[]> {
    const left = () => this.dirsOf(cgroupPath).flatMap((d) => readWords(path.join(d, 'cgroup.procs')).map(Number));
    const deadline = Date.now() + waitMs;
    while (left().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const moved = new Set<number>();
    for (const m of this.mounts) {
      const dir = path.join(m.mountpoint, cgroupPath);
      for (const pid of readWords(path.join(dir, 'cgroup.procs')).map(Number)) {
        try {
          fs.writeFileSync(path.join(m.mountpoint, 'cgroup.procs'), String(pid));
          moved.add(pid);
        } catch {
          // exited meanwhile
        }
      }
    }
    if (explaining && moved.size) explain(`moved ${[...moved].join(', ')} out of ${cgroupPath} (monitors still ending) to the root cgroup`);
    return [...moved];
  }

  /**
   * Removes a cgroup path and everything below it in every hierarchy,
   * deepest first; then the top-level directory if no other pod uses it.
   * A pod's removal (`alsoTop` given) takes its monitor leaf too (emptied
   * first, see evacuate). Returns the directories that could not be removed.
   */
  async removeTree(cgroupPath: string, alsoTop?: string): Promise<string[]> {
    const failed: string[] = [];
    if (alsoTop) {
      const monitors = monitorCgroupOf(cgroupPath);
      if (this.exists(monitors)) {
        await this.evacuate(monitors);
        for (const d of this.dirsOf(monitors)) if (!(await rmdirRetry(d))) failed.push(d);
        for (const d of this.dirsOf(path.dirname(monitors))) {
          try {
            fs.rmdirSync(d); // the last pod's
          } catch {
            // other pods' monitors still there
          }
        }
        if (explaining) explain(`rmdir ${monitors} (the pod's monitors)`);
      }
    }
    const dirs = this.dirsOf(cgroupPath);
    let removed = 0;
    for (const dir of dirs) {
      for (const d of subdirsDeepestFirst(dir)) {
        if (!(await rmdirRetry(d))) failed.push(d);
        else removed++;
      }
    }
    if (explaining && dirs.length)
      explain(
        `rmdir ${cgroupPath} and what is below it, deepest first, in ${dirs.length} hierarchies: ${removed} directories (runc delete removes only a container's own leaf)`,
      );
    if (alsoTop) {
      for (const dir of this.dirsOf(alsoTop)) {
        try {
          fs.rmdirSync(dir);
        } catch {
          // still used by another pod (ENOTEMPTY/EBUSY) or already gone: fine
        }
      }
    }
    return failed;
  }

  /** Whether a cgroup path exists in any mounted hierarchy. */
  exists(cgroupPath: string): boolean {
    return this.dirsOf(cgroupPath).length > 0;
  }

  /** The names of a cgroup's child cgroups, across every hierarchy (sorted). */
  children(cgroupPath: string): string[] {
    const names = new Set<string>();
    for (const dir of this.dirsOf(cgroupPath)) {
      try {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) names.add(e.name);
      } catch {
        // removed meanwhile
      }
    }
    return [...names].sort();
  }

  /** The processes (tgids) in a cgroup itself, not its children: v2's unified tree; on v1 the pids hierarchy (else memory). */
  procs(cgroupPath: string): number[] {
    const controller = this.version === 2 || this.mounts.some((m) => m.controllers.includes('pids')) ? 'pids' : 'memory';
    const text = this.read(controller, cgroupPath, 'cgroup.procs');
    return (text ?? '')
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** The limits and usage of a cgroup, each controller read from its own hierarchy on v1 and from the unified tree on v2. */
  readResources(cgroupPath: string): CgroupResources {
    const files = RESOURCE_FILES[this.version];
    const at = (f: { controller: string; file: string }) => {
      const dir = this.dirFor(f.controller, cgroupPath);
      return dir ? path.join(dir, f.file) : undefined;
    };
    const get = <T>(f: { controller: string; file: string }, parse: (text: string) => T | undefined): CgroupReading<T> => {
      const file = at(f);
      if (!file) return { value: null, file: null };
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        return { value: null, file: null };
      }
      return { value: parse(text) ?? null, file };
    };
    const count = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined);
    return {
      limits: {
        memoryBytes: get(files.memoryLimit, parseCgroupLimit),
        cpuQuotaUsec: get(files.cpuQuota, (t) => (this.version === 2 ? parseCpuMax(t)?.quota : parseCgroupLimit(t))),
        cpuPeriodUsec: get(files.cpuPeriod, (t) => (this.version === 2 ? parseCpuMax(t)?.period : count(t))),
        pidsMax: get(files.pidsMax, parseCgroupLimit),
      },
      usage: {
        memoryBytes: get(files.memoryUsage, count),
        cpuUsageUsec: get(files.cpuUsage, (t) => (this.version === 2 ? flatKey(t, 'usage_usec') : mapDefined(count(t), (ns) => Math.floor(ns / 1000)))),
        pids: get(files.pidsCurrent, count),
      },
    };
  }

  /** Reads a cgroup file of a controller, trimmed, or undefined. */
  read(controller: string, cgroupPath: string, file: string): string | undefined {
    const dir = this.dirFor(controller, cgroupPath);
    if (!dir) return undefined;
    try {
      return fs.readFileSync(path.join(dir, file), 'utf8').trim();
    } catch {
      return undefined;
    }
  }
}

const mapDefined = <A, B>(v: A | undefined, f: (a: A) => B): B | undefined => (v === undefined ? undefined : f(v));

function readWords(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

function writeCgroupFile(file: string, value: string): void {
  if (explaining) explain(`${file} = ${value}`);
  try {
    fs.writeFileSync(file, value);
  } catch (e) {
    throw new BarepodError('tool-failed', `cannot write "${value}" to ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** v1 cpuset: every level from the mount down to `cgroupPath` with empty cpus/mems takes its parent's. */
function inheritCpuset(mountpoint: string, cgroupPath: string): void {
  let parent = mountpoint;
  for (const part of cgroupPath.split('/').filter(Boolean)) {
    const dir = path.join(parent, part);
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (readWords(path.join(dir, file)).length === 0) writeCgroupFile(path.join(dir, file), fs.readFileSync(path.join(parent, file), 'utf8').trim());
    }
    parent = dir;
  }
}

function subdirsDeepestFirst(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    out.push(d);
  };
  walk(dir);
  return out;
}

/** rmdir that waits out EBUSY while the last tasks of a cgroup finish exiting. */
async function rmdirRetry(dir: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      fs.rmdirSync(dir);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return false;
}

import fs from 'node:fs';
import type { ProcessIdentity } from '../model.js';

/** While withProcessSnapshot runs: each pid's /proc/<pid>/stat fields as first read (undefined: no such process). */
let snapshot: Map<number, string[] | undefined> | undefined;

/** Fields of /proc/<pid>/stat after the command name; field N of proc(5) is at index N-3. */
function statFields(pid: number): string[] | undefined {
  if (snapshot?.has(pid)) return snapshot.get(pid);
  let fields: string[] | undefined;
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    fields = undefined;
  }
  snapshot?.set(pid, fields);
  return fields;
}

/**
 * Runs `fn` (synchronous) with each process's /proc/<pid>/stat read at most once: isAlive, isStopped and
 * readStartTime answer from the first read. For a read-only view of many pods (`ps`, `pod ls`), which asks
 * about each member, its conmon and its prober several times (15 reads a pod); never around a change, which
 * must see a process die.
 */
export function withProcessSnapshot<T>(fn: () => T): T {
  const outer = snapshot;
  snapshot = outer ?? new Map();
  try {
    return fn();
  } finally {
    snapshot = outer;
  }
}

/** The process start time (field 22), or undefined when no such process exists. */
export function readStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** A live process's state letter (field 3 of /proc/<pid>/stat: R, S, D, T stopped, t traced, Z, ...), or undefined when it is gone. */
export function readProcessState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** Whether the very process recorded is stopped by a signal (SIGSTOP, SIGTSTP: state T) or held by a tracer (t). */
export function isStopped(id: ProcessIdentity | undefined): boolean {
  if (!id || !isAlive(id)) return false;
  const state = readProcessState(id.pid);
  return state === 'T' || state === 't';
}

/** Reads a live process's identity (pid + start time), or undefined if it is gone. */
export function identify(pid: number): ProcessIdentity | undefined {
  const startTime = readStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

let self: ProcessIdentity | undefined;

/**
 * This process's identity (pid and start time), read from /proc once: a lock names it, and `gc` takes one lock
 * per pod. Keyed by the pid, so a value from another process (a startup snapshot's build) is never reused.
 */
export function selfIdentity(): ProcessIdentity | undefined {
  if (self?.pid !== process.pid) self = identify(process.pid);
  return self;
}

/**
 * Drops what this module keeps of the running process (its identity): for a start-up snapshot's warm-up
 * (src/cli/warm.ts), which runs commands at build time, so the blob keeps none of the builder's (whose pid a later
 * process may have).
 */
export function forgetSelfIdentity(): void {
  self = undefined;
}

/** True while the very process recorded (not a reuse of its pid) is alive and not a zombie. */
export function isAlive(id: ProcessIdentity | undefined): boolean {
  if (!id || id.pid <= 0) return false;
  const fields = statFields(id.pid);
  return fields !== undefined && fields[19] === id.startTime && fields[0] !== 'Z' && fields[0] !== 'X';
}

/** The environment variable naming the barepod process a program was run for (see runTool). */
export const CALLER_VAR = 'BAREPOD_CALLER';

/** A process's value of CALLER_VAR: `<pid>:<start time>`. */
export const callerMarkOf = (id: ProcessIdentity): string => `${id.pid}:${id.startTime}`;

/**
 * The programs a barepod process ran that still run after it died (a CNI
 * plugin, an iptables-restore, a `runc delete`: each in its own process
 * group, found by CALLER_VAR in its environment, children included). They
 * get `graceMs` to finish on their own (killing a `runc delete` half-way
 * would leave a state dir runc no longer knows); what is left then gets
 * SIGKILL, so none changes the host after whoever takes over has repaired.
 */
export async function endProgramsOf(dead: ProcessIdentity, graceMs: number): Promise<{ finished: number[]; killed: number[] }> {
  const entry = `${CALLER_VAR}=${callerMarkOf(dead)}`;
  // barepod's programs run in its own pid namespace; a container's process may carry any environment (an image's ENV)
  const ownPidNs = namespaceInode(process.pid, 'pid');
  const find = (): number[] => {
    const found: number[] = [];
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      if (namespaceInode(Number(name), 'pid') !== ownPidNs) continue;
      try {
        if (fs.readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(entry)) found.push(Number(name));
      } catch {
        // gone meanwhile, or a kernel thread
      }
    }
    return found.filter((pid) => {
      const state = readProcessState(pid);
      return state !== undefined && state !== 'Z' && state !== 'X';
    });
  };
  const seen = find();
  const pause = () => new Promise((r) => setTimeout(r, 20));
  const graceEnd = Date.now() + graceMs;
  let left = seen;
  while (left.length && Date.now() < graceEnd) {
    await pause();
    left = find();
  }
  const killed = left;
  for (const killEnd = Date.now() + 5000; left.length && Date.now() < killEnd; left = find()) {
    for (const pid of left) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL'); // its group first (it leads one), then itself
        } catch {
          // no such group, or gone
        }
      }
    }
    await pause();
  }
  return { finished: seen.filter((p) => !killed.includes(p)), killed };
}

/** Inode of /proc/<pid>/ns/<type>, the identity of a namespace; undefined when unreadable. */
export function namespaceInode(pid: number, type: string): number | undefined {
  try {
    return fs.statSync(`/proc/${pid}/ns/${type}`).ino;
  } catch {
    return undefined;
  }
}

/** Namespace types shown for every pod member. */
export const NAMESPACE_TYPES = ['net', 'ipc', 'uts', 'pid', 'mnt', 'cgroup', 'user'] as const;

/** Inodes of every namespace of a process, by /proc/<pid>/ns name. */
export function namespaceInodes(pid: number, types: readonly string[] = NAMESPACE_TYPES): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of types) {
    const ino = namespaceInode(pid, t);
    if (ino !== undefined) out[t] = ino;
  }
  return out;
}

/** The cgroup paths of a process, by controller list ("" for the unified hierarchy). */
export function readProcCgroups(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  let text = '';
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out[m[1] ?? ''] = m[2] ?? '';
  }
  return out;
}

/** Whether a signal has a handler installed in a process (SigCgt of /proc/<pid>/status). */
export function catchesSignal(pid: number, signal: number): boolean | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
    if (!m) return undefined;
    return (BigInt('0x' + m[1]) & (1n << BigInt(signal - 1))) !== 0n;
  } catch {
    return undefined;
  }
}

/** The pid of a process as seen in its innermost pid namespace (last NSpid column). */
export function innermostPid(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^NSpid:\s*(.+)$/m.exec(status);
    const last = m?.[1]?.trim().split(/\s+/).pop();
    return last === undefined ? undefined : Number(last);
  } catch {
    return undefined;
  }
}

/** The command name (comm) of a process, or undefined when it is gone. */
export function readComm(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Direct children of a process (every thread's), from /proc/<pid>/task/<tid>/children. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const p of text.split(' ')) if (p.trim()) out.push(Number(p));
    }
  } catch {
    // gone
  }
  return out;
}

/** A process's argv, or [] when it is gone. */
export function readCmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** What `top` shows of a process, from /proc/<pid>/status. */
export interface ProcStatus {
  /** one letter: R, S, D, Z, T, I, ... */
  state: string;
  /** the parent's pid, as this (host) process sees it */
  ppid: number;
  /** real uid */
  uid: number;
  /** resident set size (VmRSS); 0 for a zombie or a kernel thread */
  rssBytes: number;
  /** the pid in each pid namespace, outermost (the host's) first: the last is the one the process sees itself as */
  nspid: number[];
}

/** Parses the text of /proc/<pid>/status; pure, so the format is unit-tested. */
export function parseProcStatus(text: string): ProcStatus | undefined {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const state = field('State')?.[0];
  const ppid = Number(field('PPid'));
  const uid = Number(field('Uid')?.split(/\s+/)[0]);
  if (!state || !Number.isInteger(ppid) || !Number.isInteger(uid)) return undefined;
  const rss = /^(\d+)\s*kB$/.exec(field('VmRSS') ?? '');
  const nspid = (field('NSpid') ?? field('Pid') ?? '').split(/\s+/).filter(Boolean).map(Number);
  return { state, ppid, uid, rssBytes: rss ? Number(rss[1]) * 1024 : 0, nspid };
}

/** A process's status, or undefined when it is gone. */
export function readProcStatus(pid: number): ProcStatus | undefined {
  try {
    return parseProcStatus(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The process to stop for a member: the recorded one while it lives; once it
 * is gone, none, so that runc is asked. A command killed half-way through a
 * restart (an exit handler, gc) may have left a newer instance runc knows and
 * the record does not: it must be stopped too, or runc delete refuses.
 */
export function liveOrAsk(p: ProcessIdentity | undefined): ProcessIdentity | undefined {
  return isAlive(p) ? p : undefined;
}

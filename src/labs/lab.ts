/**
 * What a teaching lab is: a page a student reads (labs/NN-*.md) and steps
 * the runner walks through, each with the commands a student would type and
 * the claims the lab makes about this very host, checked against /proc and
 * the cgroup files (never against barepod's own say-so alone), so a lab
 * cannot rot: CI runs every check.
 */
import type { MemberStatus } from '../pod/views.js';

/** One command a step shows and runs in the student's shell (sh -c). */
export interface LabCommand {
  /** the command line; `{pod:web}`, `{pid:web}`, `{pid:web/app}`, `{cgroup:web}` (the pod's cgroup dir below a hierarchy's mount: `barepod/<pod>`, or `barepod-<hash>/<pod>` for another state root), `{dir}` and `{repo}` are filled in before it is shown */
  cmd: string;
  /** the command is meant to fail (its failure is the point): a non-zero exit is not an error */
  mayFail?: boolean;
  /** give up after this many seconds (default 60): a step must never hang a lab */
  timeoutSeconds?: number;
  /** what it shows happens asynchronously (a trap runs, a server starts): retry it quietly for up to this many seconds until it succeeds */
  retrySeconds?: number;
}

/** A claim the lab makes; holds() returns true, or why it did not hold. */
export interface Claim {
  says: string;
  holds: (ctx: LabContext) => Promise<true | string> | true | string;
}

export interface Step {
  title: string;
  /** what this step shows and why, in a few sentences */
  say: string;
  /** commands, run in order; a string is a LabCommand that must succeed */
  run?: (string | LabCommand)[];
  /** what to look at in the output */
  look?: string;
  /** checked after the commands ran */
  claims?: Claim[];
}

export interface Lab {
  id: number;
  /** file name of the page under labs/, e.g. 01-anatomy.md */
  page: string;
  title: string;
  /** the source articles (shared/seeds) the lab comes from */
  seeds: string[];
  /** one or two sentences for `lab list` and the top of `lab run` */
  summary: string;
  steps: Step[];
  /** short names of the pods the lab makes ({pod:NAME}); they are removed before and after it */
  pods: string[];
  /** extra cleanup beyond the pods (e.g. runc containers made by hand), best effort, run before and after */
  cleanup?: (ctx: LabContext) => Promise<void>;
}

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What steps and claims get from the runner. */
export interface LabContext {
  /** the pod name for a lab's short name: `<prefix>-<short>` */
  pod(short: string): string;
  /** runs a command line as the steps do (barepod on the PATH, the same state root) */
  sh(cmd: string, timeoutSeconds?: number): Promise<ShResult>;
  /** runs `barepod ARGS --json` and parses its output; throws with its stderr on failure */
  json<T = any>(args: string[]): Promise<T>;
  /** the host pid of a pod's pause (`web`) or of a container (`web/app`) */
  pid(ref: string): Promise<number>;
  /** values a step keeps for a later claim (an inode before a restart) */
  vars: Record<string, unknown>;
  /** a scratch directory of this run, removed after it */
  dir: string;
  /** barepod's source tree (labs/, bundles/, examples/), for steps that show or build its files */
  repo: string;
  /** the top cgroup dir of the state root's pods (`barepod` for the default root) */
  cgroupRoot?: string;
  /** polls until fn returns a truthy value, or throws naming what did not happen */
  until<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms?: number): Promise<T>;
}

/** Fills the placeholders of a command line; pids are looked up as needed. */
export async function fillCommand(cmd: string, ctx: Pick<LabContext, 'pod' | 'pid' | 'dir' | 'repo' | 'cgroupRoot'>): Promise<string> {
  let out = '';
  let last = 0;
  for (const m of cmd.matchAll(/\{(pod|pid|cgroup|dir|repo)(?::([a-z0-9-]+(?:\/[a-z0-9-]+)?))?\}/g)) {
    out += cmd.slice(last, m.index);
    const [, kind, arg] = m;
    if (kind === 'dir') out += ctx.dir;
    else if (kind === 'repo') out += ctx.repo;
    else if (!arg) throw new Error(`lab: placeholder {${kind}} needs a name, e.g. {${kind}:web}`);
    else if (kind === 'pod') out += ctx.pod(arg);
    else if (kind === 'cgroup') out += `${ctx.cgroupRoot ?? 'barepod'}/${ctx.pod(arg)}`;
    else out += String(await ctx.pid(arg));
    last = m.index! + m[0].length;
  }
  return out + cmd.slice(last);
}

/** Claim helper: equal values hold; otherwise the reason names both. */
export function same(what: string, a: unknown, b: unknown): true | string {
  return a === b ? true : `${what}: ${String(a)} ≠ ${String(b)}`;
}

/** Claim helper: different values hold. */
export function differ(what: string, a: unknown, b: unknown): true | string {
  return a !== b ? true : `${what}: both ${String(a)}`;
}

/** Claim helper: a pod member as `barepod ps --json` reports it (status, restarts, pid, exit code). */
export async function psMember(ctx: LabContext, pod: string, container: string): Promise<MemberStatus> {
  const view = await ctx.json<{ pods: { containers: MemberStatus[] }[] }>(['ps', ctx.pod(pod)]);
  const m = view.pods[0]?.containers.find((c) => c.container === container);
  if (!m) throw new Error(`lab: no container ${container} in pod ${ctx.pod(pod)}`);
  return m;
}

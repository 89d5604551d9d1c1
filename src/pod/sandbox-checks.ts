// The sandbox checks: before anything joins a pod's namespaces, the recorded pause must still be the same process
// (the PID-reuse guard), and a new container must really be in the pause's namespaces before it runs anything.
import { BarepodError } from '../errors.js';
import type { PodRecord } from '../model.js';
import { NAMESPACES } from '../plan/pod-plan.js';
import { isAlive, namespaceInodes, readStartTime } from '../runtime/procfs.js';
import { explain, explaining } from '../runtime/explain.js';

const SANDBOX_NS = Object.values(NAMESPACES).map((n) => n.proc);

/**
 * The PID-reuse guard: the recorded pause must still be the same process
 * (pid + start time) with the same namespaces before anything joins them;
 * otherwise a new container could land in a stranger's namespaces.
 * (`again` only changes what --explain says of a repeated check.)
 */
export function verifySandbox(rec: PodRecord, again = false): void {
  const { pid, startTime, namespaces } = rec.sandbox;
  const name = rec.def.name;
  const gone = (why: string) =>
    new BarepodError('sandbox-gone', `pod "${name}": its sandbox is gone (${why}); nothing was started in its namespaces`, {
      hint: `remove the pod with \`barepod pod rm ${name}\` and create it again`,
    });
  const now = readStartTime(pid);
  if (now === undefined) throw gone(`pause pid ${pid} has exited`);
  if (now !== startTime) throw gone(`pid ${pid} now belongs to another process`);
  if (!isAlive(rec.sandbox)) throw gone(`pause pid ${pid} has exited`);
  const live = namespaceInodes(pid, SANDBOX_NS);
  for (const ns of SANDBOX_NS) {
    if (live[ns] !== namespaces[ns]) throw gone(`the ${ns} namespace of pid ${pid} changed`);
  }
  if (explaining) {
    explain(
      again
        ? `checked again, right before runc create joins /proc/${pid}/ns/*`
        : `checked: pid ${pid} is still the pause (start time ${startTime}, namespace inodes ${inodeWords(live, SANDBOX_NS)}): its /proc/${pid}/ns paths are safe to join`,
    );
  }
}

/** "net:[4026532301] ipc:[…]", as `readlink /proc/<pid>/ns/<type>` shows them. */
const inodeWords = (inodes: Record<string, number | undefined>, types: string[]): string =>
  types
    .filter((t) => inodes[t] !== undefined)
    .map((t) => `${t}:[${inodes[t]}]`)
    .join(' ');

/** Checks that a freshly created container really joined the sandbox's namespaces, before it runs anything. */
export function verifyJoined(rec: PodRecord, pid: number, joined: string[]): void {
  const live = namespaceInodes(pid, joined);
  for (const ns of joined) {
    if (live[ns] !== rec.sandbox.namespaces[ns]) {
      throw new BarepodError(
        'sandbox-gone',
        `pod "${rec.def.name}": the new container joined a different ${ns} namespace than the sandbox's; it was not started`,
        {
          hint: `remove the pod with \`barepod pod rm ${rec.def.name}\` and create it again`,
        },
      );
    }
  }
  if (explaining && joined.length) explain(`checked: pid ${pid} is in the pause's namespaces (${inodeWords(live, joined)}), before runc start`);
}

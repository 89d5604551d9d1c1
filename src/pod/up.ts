/**
 * Declarative pods: `up` makes a manifest's pods real in one process (the
 * sandbox, init containers one by one to completion, then the app
 * containers), `down` removes them, `export` writes a pod back as a v1/Pod.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { BarepodError, hasCode, wrap } from '../errors.js';
import { isActive, restartPolicyOf, type ContainerDefinition, type ContainerRecord, type PodDefinition, type PodRecord } from '../model.js';
import { identify, isAlive } from '../runtime/procfs.js';
import { isObj } from '../manifest/fields.js';
import type { ManifestPod } from '../manifest/pod.js';
import { backoffDelay, shouldRestart } from '../plan/restart.js';
import { resolveImage, type ResolvedImage } from '../runtime/images.js';
import { resolveContainer } from '../plan/container.js';
import { runContainer, runContainers, startContainer, startWaiting } from './containers.js';
import { findContainer, reconcile, withPod } from './record.js';
import type { Runtime } from './runtime.js';
import { containerReady, readProbeStatus, startProber } from './prober.js';
import { createPod, removePod, removePodLocked } from './sandbox.js';
import { explaining, explainResult, explainStep } from '../runtime/explain.js';
import { proberTitle } from '../plan/narration.js';
import { memberKind, startOrder } from '../plan/members.js';
import { readLogs } from './logs.js';

/** `repaired`: the pod existed from this manifest but lacked containers (its `up` was killed, or one was removed), and they were made. */
export type UpOutcome = 'created' | 'unchanged' | 'replaced' | 'repaired';

export interface UpOptions {
  /** replace a pod whose manifest changed (down, then up) */
  replace?: boolean;
  /** how long init containers may take, retries included */
  initTimeoutMs?: number;
  /** progress lines for people */
  say?: (line: string) => void;
}

/** A stable hash of what the user wrote: key order does not matter, values do. */
export function manifestHash(source: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, x]) => [k, canon(x)]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canon(source)))
    .digest('hex');
}

/** Top-level fields that differ between two manifests, as dotted paths (for "what changed"). */
export function manifestDiff(a: unknown, b: unknown, at = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
    return keys.flatMap((k) => manifestDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.flatMap((x, i) => manifestDiff(x, b[i], `${at}[${i}]`));
  return [at || '(document)'];
}

/**
 * Checks what can be checked before anything is made: every image resolves
 * (it was pulled before), and each container is resolved against its image
 * by Kubernetes' rules and pinned to its manifest digest, as `run` does: a
 * later pull of the same name, or its `rmi`, never changes the image under
 * a container of the pod (its restarts included).
 */
function preflight(rt: Runtime, mp: ManifestPod): ContainerDefinition[] {
  return mp.containers.map((c) => {
    const where = `pod "${mp.pod.name}", ${memberKind(c).manifestList} "${c.name}"`;
    let image: ResolvedImage;
    try {
      image = resolveImage(rt.settings, c.image ?? 'busybox');
    } catch (e) {
      throw wrap(e, where, { code: 'not-found' });
    }
    let def: ContainerDefinition;
    try {
      def = resolveContainer(c, image);
    } catch (e) {
      throw wrap(e, where);
    }
    if (def.args.length === 0) throw new BarepodError('invalid-value', `${where}: image "${c.image}" has no default command: set command or args`);
    return def;
  });
}

/**
 * `up` for one pod: a no-op when it runs from the same manifest; an error
 * naming the changed fields when it differs (or a replacement when told to);
 * otherwise the pod, made whole or not at all: a failure before the app
 * containers run removes everything again. A failing init container is the
 * one exception: the pod stays, Failed, so its logs can be read.
 *
 * The pod is Creating (its record names this process) until every container
 * of the manifest is recorded. Another `up` of the same manifest meanwhile
 * waits for this one and then says `unchanged`; a pod left Creating by an
 * `up` that was killed, or missing a container of its manifest, is finished
 * (`repaired`): the missing containers are made, never `unchanged`.
 */
export async function upPod(rt: Runtime, mp: ManifestPod, o: UpOptions = {}): Promise<UpOutcome> {
  const name = mp.pod.name;
  const hash = manifestHash(mp.source);
  const deadline = Date.now() + (o.initTimeoutMs ?? 300_000);
  let outcome: UpOutcome = 'created';
  let said = false;
  for (let attempts = 0; ;) {
    const existing = rt.store.tryRead(name);
    if (existing && existing.manifest?.hash === hash && isActive(existing)) {
      if (existing.phase === 'Creating' && isAlive(existing.creator)) {
        // another `up` is making this very pod: wait for it, then look again
        if (Date.now() > deadline) {
          throw new BarepodError('busy', `pod "${name}" is still being created by another barepod command (pid ${existing.creator?.pid})`, {
            hint: 'wait for it to finish and try again',
          });
        }
        if (!said) o.say?.(`pod/${name}: being created by another barepod command (pid ${existing.creator?.pid}), waiting for it`);
        said = true;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      // a pod that was complete once (Running) lacks a container only when one was removed since: init containers that ran to completion are not run again
      const complete = existing.phase !== 'Creating';
      const missing = missingContainers(existing, mp, complete);
      if (complete && missing.length === 0) {
        await explainStep(
          () => `Pod ${name}: already up from this very manifest (its hash is in the pod's record): nothing to do`,
          async () => undefined,
        );
        return 'unchanged';
      }
      // its `up` was killed half-way, or a container was removed since: take the pod over (under its lock, so only one `up` does) and make what is missing
      const containers = preflight(rt, mp);
      const adopted = await withPod(rt, name, async (rec) => {
        if ((rec.phase === 'Creating' && isAlive(rec.creator)) || rec.manifest?.hash !== hash || !isActive(rec)) return false;
        rec.phase = 'Creating';
        rec.creator = identify(process.pid);
        return true;
      }).catch((e: unknown) => {
        if (hasCode(e, 'not-found')) return false; // removed meanwhile
        throw e;
      });
      if (!adopted) continue; // another command got there first: look again
      await explainStep(
        () => `Pod ${name}: incomplete (${missing.length ? `no ${missing.join(', ')}` : 'its up did not finish'}): make what is missing`,
        async () => undefined,
      );
      o.say?.(`pod/${name}: incomplete${missing.length ? ` (no ${missing.join(', ')})` : ''}, making what is missing`);
      await makeContainers(rt, { pod: mp.pod, containers }, o, complete);
      return 'repaired';
    }
    if (existing) {
      if (!o.replace) {
        const changed = existing.manifest ? manifestDiff(existing.manifest.source, mp.source) : ['(the pod was not made from a manifest)'];
        throw new BarepodError(
          'already-exists',
          `pod "${name}" already exists${existing.phase && existing.phase !== 'Running' ? ` (${existing.phase})` : ''} and differs from the manifest: ${changed.slice(0, 8).join(', ')}${changed.length > 8 ? ', …' : ''}`,
          {
            hint: `replace it with \`barepod up --replace -f FILE\`, or remove it first: barepod down ${name}`,
          },
        );
      }
      o.say?.(`pod/${name}: the manifest changed, replacing it`);
      await removePod(rt, name);
      outcome = 'replaced';
    }
    const containers = preflight(rt, mp);
    try {
      await createPod(rt, mp.pod, { hash, source: mp.source }, { creating: true });
    } catch (e) {
      // another `up` made the pod meanwhile, or one killed before it wrote the record left its directory: look again
      if (++attempts < 3 && fs.existsSync(rt.pod(name).paths.dir)) {
        await removeIncomplete(rt, name);
        continue;
      }
      throw e;
    }
    await makeContainers(rt, { pod: mp.pod, containers }, o);
    return outcome;
  }
}

/**
 * The error `up` ends with when app containers of its pods are waiting on a
 * missing ConfigMap or Secret (the pods are up, those containers are not):
 * undefined when none is.
 */
export function waitingError(rt: Runtime, pods: string[]): BarepodError | undefined {
  const lines = pods.flatMap((pod) =>
    (rt.store.tryRead(pod)?.containers ?? [])
      .filter((c) => c.state === 'waiting')
      .map((c) => `pod "${pod}", container "${c.def.name}": ${c.waiting?.reason}: ${c.waiting?.message}`),
  );
  if (!lines.length) return undefined;
  return new BarepodError(
    'container-config',
    `${lines.length === 1 ? 'a container did' : `${lines.length} containers did`} not start:\n  ${lines.join('\n  ')}`,
    {
      hint: 'the other containers run; create what is missing (a ConfigMap or Secret document in the file, or in the store) and run `barepod up -f FILE` again, or mark the reference optional: true',
    },
  );
}

/** Containers of the manifest the pod's record lacks (of a pod that was complete once, init containers that run to completion do not count). */
function missingContainers(rec: PodRecord, mp: ManifestPod, complete: boolean): string[] {
  // a container left waiting (its ConfigMap or Secret was missing) is made now, when it can be
  const have = new Set(rec.containers.filter((c) => c.state !== 'waiting').map((c) => c.def.name));
  return mp.containers.filter((c) => !have.has(c.name) && !(complete && memberKind(c).runsToCompletion)).map((c) => c.name);
}

/** A pod directory without a record under a free lock was left by a command killed before it wrote one: remove it. */
async function removeIncomplete(rt: Runtime, name: string): Promise<void> {
  const pod = rt.pod(name);
  await pod.withLock(async () => {
    if (!rt.store.tryRead(name) && fs.existsSync(pod.paths.dir)) await removePodLocked(rt, name, 0);
  });
}

/**
 * The containers of a Creating pod that its record lacks, in order: init
 * containers to completion and native sidecars one by one, then the app
 * containers; the pod becomes Running in the same lock round that records
 * the last of them. A failure removes the pod (a failing init container
 * leaves it Failed, for its logs), unless the pod was `complete` once (a
 * container removed since): then it is Running again with what it has.
 */
async function makeContainers(rt: Runtime, mp: { pod: PodDefinition; containers: ContainerDefinition[] }, o: UpOptions, complete = false): Promise<void> {
  const name = mp.pod.name;
  const has = (c: string) => rt.store.read(name).containers.find((x) => x.def.name === c);
  const running = (rec: PodRecord) => {
    if (rec.phase !== 'Creating') return; // Failed meanwhile (its sandbox died): stays so
    rec.phase = 'Running';
    delete rec.creator;
  };
  const probes = mp.containers.some((c) => c.probes);
  try {
    // the order planUp lists: init containers and sidecars one by one, then the app containers together
    const order = startOrder(mp.containers);
    for (const c of order.beforeApps.filter((x) => !(complete && memberKind(x).runsToCompletion))) {
      const made = has(c.name);
      if (!memberKind(c).runsToCompletion) {
        if (!made) await runContainer(rt, name, c);
        else if (made.state === 'waiting') await startWaiting(rt, name, [c.name]); // a restart of it found its ConfigMap or Secret gone
      } else if (!made) await runInit(rt, name, c, o);
      else if (made.state !== 'exited' || made.exitCode !== 0) await runInit(rt, name, c, o, true); // it ran when its up was killed
    }
    const apps = order.apps.filter((x) => !has(x.name));
    const waiting = order.apps.filter((x) => has(x.name)?.state === 'waiting');
    // without probes the pod is Running from the same lock round that records its app containers
    // (an app container whose ConfigMap or Secret is missing is recorded waiting, the others start: as the kubelet does)
    if (apps.length) await runContainers(rt, name, apps, probes ? undefined : running, undefined, undefined, true);
    if (waiting.length)
      await startWaiting(
        rt,
        name,
        waiting.map((c) => c.name),
      );
    if (probes)
      await explainStep(proberTitle(mp.pod), () =>
        withPod(rt, name, async (rec) => {
          running(rec);
          startProber(rt, rec);
        }),
      );
    else if (!apps.length) await withPod(rt, name, async (rec) => running(rec));
  } catch (e) {
    if (e instanceof InitFailed) throw e.error;
    // an init container or sidecar whose ConfigMap or Secret is missing: the pod is not made (the kubelet would leave it Pending)
    if (hasCode(e, 'container-config')) e = wrap(e, `pod "${name}": CreateContainerConfigError`);
    if (complete) await withPod(rt, name, async (rec) => running(rec)).catch(() => undefined);
    else await removePod(rt, name, 0).catch(() => undefined); // nothing of a half-made pod stays
    throw e;
  }
}

class InitFailed extends Error {
  constructor(readonly error: BarepodError) {
    super(error.message);
  }
}

/**
 * Runs one init container to completion. A failure is retried with the
 * pod's crash-loop backoff under restart policy Always or OnFailure (as the
 * kubelet does), until the time is up; under Never it fails the pod.
 */
async function runInit(rt: Runtime, pod: string, c: ContainerDefinition, o: UpOptions, started = false): Promise<void> {
  const deadline = Date.now() + (o.initTimeoutMs ?? 300_000);
  if (!started) await runContainer(rt, pod, c);
  for (let attempt = 0; ; attempt++) {
    const code = await waitExit(rt, pod, c.name, deadline);
    if (explaining)
      explainResult(
        code === undefined
          ? `init container ${c.name} did not finish in time`
          : `init container ${c.name} exited with ${code}${code === 0 ? ': the next one may start' : ''}`,
      );
    if (code === 0) return;
    const rec = rt.store.read(pod);
    const retry = rec.def.restartPolicy !== 'Never' && code !== undefined;
    const delay = backoffDelay(rec.def.backoff, attempt);
    if (!retry || Date.now() + delay > deadline) {
      const why = code === undefined ? 'did not finish in time' : `exited with ${code}`;
      await withPod(rt, pod, async (r) => {
        r.phase = 'Failed';
        r.message = `init container "${c.name}" ${why}`;
        delete r.creator;
      });
      throw new InitFailed(
        new BarepodError(
          'tool-failed',
          `pod "${pod}": init container "${c.name}" ${why}; the app containers were not started${lastLogLines(rt, pod, c.name)}`,
          {
            hint: `see its output: barepod logs ${pod} ${c.name}; remove the pod: barepod down ${pod}`,
          },
        ),
      );
    }
    o.say?.(`pod/${pod}: init container ${c.name} exited with ${code}, retrying in ${delay / 1000}s`);
    await new Promise((r) => setTimeout(r, delay));
    await startContainer(rt, pod, c.name);
  }
}

/** Waits until a container has exited; its exit code, or undefined at the deadline. */
async function waitExit(rt: Runtime, pod: string, name: string, deadline: number): Promise<number | undefined> {
  for (;;) {
    const rec = rt.store.read(pod);
    reconcile(rt, rec);
    const c = findContainer(rec, name);
    if (c.state === 'exited' || c.state === 'unknown') return c.exitCode ?? -1;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * How long a container must have run before `wait` counts it: one that fails
 * at start (a missing file, a bad flag) would otherwise be "ready" in the
 * instant between its start and its exit.
 */
export const SETTLE_MS = 1000;

/** Ready as Kubernetes means it without readiness probes: the sandbox and every app container running (for SETTLE_MS at least). */
export function podReady(rt: Runtime, rec: PodRecord, now = Date.now()): { ready: boolean; why: string } {
  reconcile(rt, rec);
  if (rec.phase && rec.phase !== 'Running') return { ready: false, why: `the pod is ${rec.phase}${rec.message ? `: ${rec.message}` : ''}` };
  const status = readProbeStatus(rt.settings.stateRoot, rec.def.name);
  const why: string[] = [];
  for (const c of rec.containers.filter((x) => !memberKind(x.def).runsToCompletion)) {
    // native sidecars count, init containers do not
    if (c.state === 'running' && !isAlive(c.process))
      why.push(`${c.def.name} has exited (its exit code is not recorded yet)`); // conmon is still writing it
    else if (c.state === 'running' && now - Date.parse(c.startedAt ?? '') < SETTLE_MS) why.push(`${c.def.name} started less than ${SETTLE_MS / 1000}s ago`);
    else if (c.state === 'waiting') why.push(`${c.def.name} is waiting: ${c.waiting?.reason ?? ''}: ${c.waiting?.message ?? ''}`);
    else if (c.state !== 'running')
      why.push(`${c.def.name} is ${c.backoff ? 'in CrashLoopBackOff' : c.state}${c.exitCode !== undefined ? ` (exit ${c.exitCode})` : ''}`);
    else {
      const r = containerReady(c, status);
      if (!r.ready) why.push(`${c.def.name} is not ready (${r.why})`);
    }
  }
  return why.length ? { ready: false, why: why.join('; ') } : { ready: true, why: '' };
}

/**
 * An app container that has ended for good: exited (or lost) and its restart
 * policy does not bring it back (Never; OnFailure after exit 0), with no
 * restart pending and no user's stop. Such a pod can never become ready, so
 * `wait` and `up --wait` fail at once with the container, its exit code and
 * its last log lines, rather than at their timeout. Reconciled first.
 */
export function endedForGood(rt: Runtime, rec: PodRecord): string | undefined {
  reconcile(rt, rec);
  if (rec.phase && rec.phase !== 'Running') return undefined; // the caller reports the phase itself
  // its ConfigMap or Secret is missing: nothing starts it until that changes (Kubernetes keeps it waiting; so does barepod, without a deadline)
  const waiting = rec.containers.find((c) => c.state === 'waiting' && c.desired !== 'stopped');
  if (waiting) return `container "${waiting.def.name}" cannot start: ${waiting.waiting?.reason}: ${waiting.waiting?.message}`;
  const ended = rec.containers.find(
    (c) =>
      !memberKind(c.def).runsToCompletion &&
      isTerminated(c) &&
      !c.backoff &&
      c.desired !== 'stopped' &&
      !shouldRestart(restartPolicyOf(rec.def, c.def), c.exitCode),
  );
  if (!ended) return undefined;
  const policy = restartPolicyOf(rec.def, ended.def);
  const how =
    ended.state === 'unknown'
      ? `ended with no exit code recorded${ended.message ? ` (${ended.message})` : ''}`
      : `exited with ${ended.exitCode ?? '?'}${ended.reason ? ` (${ended.reason})` : ''}`;
  return `container "${ended.def.name}" ${how} and its restart policy ${policy} does not restart it${lastLogLines(rt, rec.def.name, ended.def.name)}`;
}

const isTerminated = (c: ContainerRecord) => c.state === 'exited' || c.state === 'unknown';

/** The last lines a container wrote, for an error message: "; its last log lines:\n  …", or '' when it wrote none. */
export function lastLogLines(rt: Runtime, pod: string, container: string, n = 5): string {
  let lines: string[];
  try {
    lines = readLogs(rt, pod, { container, tail: n }).map((l) => l.text);
  } catch {
    return '';
  }
  return lines.length ? `; its last log lines:\n${lines.map((l) => `  ${l}`).join('\n')}` : '; it wrote no output';
}

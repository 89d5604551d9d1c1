/**
 * Probes, as the kubelet runs them: one small prober process per pod that
 * has probes (none otherwise), started inside the pod's network namespace
 * (nsenter), so tcpSocket and httpGet reach 127.0.0.1 of the pod. Startup
 * gates the others; readiness decides Ready (written to the pod's
 * probes.json, read by `ps`, `wait`, `up --wait`); liveness (or startup)
 * failure kills the container, which its restart policy then restarts.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { isActive, type ContainerRecord, type PodRecord, type ProbeDefinition } from '../model.js';
import { podPaths } from '../plan/paths.js';
import { appendEvent } from '../runtime/events.js';
import { identify, isAlive } from '../runtime/procfs.js';
import { launch } from '../runtime/exec.js';
import { DeadlineError } from '../errors.js';
import { selfArgv } from '../runtime/self.js';
import { writeFileAtomic } from '../runtime/state.js';
import { inPodPidNamespace } from '../plan/pod-plan.js';
import { reconcile } from './record.js';
import { signalMember, tryPlaceMonitor } from './member.js';
import type { Runtime } from './runtime.js';
import { explaining, explainResult, explainRun } from '../runtime/explain.js';
import { shellWords } from '../plan/narration.js';

/** What the prober last concluded about one container instance. */
export interface ProbeStatus {
  launchId: string;
  /** the startup probe passed (or there is none) */
  started: boolean;
  ready: boolean;
  message: string;
}

export const probesFile = (stateRoot: string, pod: string): string => path.join(podPaths(stateRoot, pod).dir, 'probes.json');

/** The prober's conclusions, by container name; {} when there is no prober. */
export function readProbeStatus(stateRoot: string, pod: string): Record<string, ProbeStatus> {
  try {
    return JSON.parse(fs.readFileSync(probesFile(stateRoot, pod), 'utf8')) as Record<string, ProbeStatus>;
  } catch {
    return {};
  }
}

/** Whether a running container counts as ready: without a readiness probe, running is ready (Kubernetes). */
export function containerReady(c: ContainerRecord, status: Record<string, ProbeStatus>): { ready: boolean; why: string } {
  if (c.state !== 'running') return { ready: false, why: c.state };
  if (!c.def.probes?.readiness && !c.def.probes?.startup) return { ready: true, why: '' };
  const s = status[c.def.name];
  if (!s || s.launchId !== c.launchId) return { ready: false, why: 'not probed yet' };
  return { ready: s.ready && s.started, why: s.message };
}

export const hasProbes = (rec: PodRecord): boolean => rec.containers.some((c) => c.def.probes && Object.keys(c.def.probes).length > 0);

/** Starts the pod's prober when a container has probes (in the pod's netns unless it uses the host's); records it. */
export function startProber(rt: Runtime, rec: PodRecord): void {
  stopProber(rec);
  if (!hasProbes(rec)) return;
  const self = [...selfArgv(), '--root', rt.settings.stateRoot, '_prober', rec.def.name];
  const argv = rec.def.host?.includes('net') ? self : ['nsenter', `--net=/proc/${rec.sandbox.pid}/ns/net`, '--', ...self];
  if (explaining) explainRun(`${shellWords(argv)} &`);
  // a monitor that lives as long as the pod: no deadline
  const run = launch(argv, { outlives: true, detached: true, stdio: 'ignore', timeoutMs: 0 });
  run.release();
  const child = run.child;
  tryPlaceMonitor(rt, rec, child.pid); // out of the caller's session, beside the pod's conmons
  const id = child.pid ? identify(child.pid) : undefined;
  if (id) rec.prober = id;
  if (explaining) explainResult(`prober pid ${child.pid}: it probes every container with probes and writes ${probesFile(rt.settings.stateRoot, rec.def.name)}`);
}

/** Ends the pod's prober, if any. */
export function stopProber(rec: PodRecord): void {
  if (rec.prober && isAlive(rec.prober)) {
    try {
      process.kill(rec.prober.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  delete rec.prober;
}

interface Counter {
  successes: number;
  failures: number;
  lastRun: number;
  busy: boolean;
}

interface Tracked {
  launchId: string;
  startedAt: number;
  started: boolean;
  ready: boolean;
  message: string;
  killed: boolean;
  counters: Record<'startup' | 'liveness' | 'readiness', Counter>;
}

/** `_prober`: the loop. Ends when the pod goes, or when another prober replaced this one. */
export async function runProber(rt: Runtime, pod: string): Promise<void> {
  const tracked = new Map<string, Tracked>();
  let written = '';
  for (;;) {
    const rec = rt.store.tryRead(pod);
    if (!rec || !isActive(rec) || rec.prober?.pid !== process.pid) return;
    reconcile(rt, rec);
    const now = Date.now();
    for (const c of rec.containers) {
      const probes = c.def.probes;
      if (!probes || c.state !== 'running' || !c.launchId) continue;
      let t = tracked.get(c.def.name);
      if (!t || t.launchId !== c.launchId) {
        const fresh = (): Counter => ({ successes: 0, failures: 0, lastRun: 0, busy: false });
        t = {
          launchId: c.launchId,
          startedAt: Date.parse(c.startedAt ?? new Date().toISOString()),
          started: !probes.startup,
          ready: false,
          message: 'not probed yet',
          killed: false,
          counters: { startup: fresh(), liveness: fresh(), readiness: fresh() },
        };
        tracked.set(c.def.name, t);
      }
      const track = t;
      const kinds = (track.started ? (['liveness', 'readiness'] as const) : (['startup'] as const)).filter((k) => probes[k]);
      for (const kind of kinds) {
        const p = probes[kind]!;
        const ctr = track.counters[kind];
        if (ctr.busy || track.killed || now < track.startedAt + p.initialDelaySeconds * 1000 || now < ctr.lastRun + p.periodSeconds * 1000) continue;
        ctr.busy = true;
        ctr.lastRun = now;
        void probe(rt, rec, c, p).then((failure) => {
          ctr.busy = false;
          if (track.killed || tracked.get(c.def.name) !== track) return;
          if (failure === undefined) {
            ctr.successes += 1;
            ctr.failures = 0;
          } else {
            ctr.failures += 1;
            ctr.successes = 0;
          }
          if (kind === 'readiness') {
            if (failure === undefined && ctr.successes >= p.successThreshold) track.ready = true;
            if (failure !== undefined && ctr.failures >= p.failureThreshold) track.ready = false;
            track.message = failure === undefined ? '' : `readiness probe: ${failure}`;
          } else if (kind === 'startup' && failure === undefined) {
            track.started = true;
            track.message = 'started';
          } else if (failure !== undefined) {
            track.message = `${kind} probe: ${failure}`;
            if (ctr.failures >= p.failureThreshold) {
              track.killed = true;
              kill(rt, rec, c, `${kind} probe failed ${ctr.failures} times: ${failure}`);
            }
          }
        });
      }
    }
    const status: Record<string, ProbeStatus> = {};
    for (const [name, t] of tracked) status[name] = { launchId: t.launchId, started: t.started, ready: t.ready, message: t.message };
    const text = JSON.stringify(status);
    if (text !== written) {
      writeFileAtomic(probesFile(rt.settings.stateRoot, pod), text);
      written = text;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs one probe; undefined on success, else why it failed. */
function probe(rt: Runtime, rec: PodRecord, c: ContainerRecord, p: ProbeDefinition): Promise<string | undefined> {
  const timeoutMs = p.timeoutSeconds * 1000;
  if (p.exec) {
    // the probe's timeoutSeconds is runc exec's deadline
    return launch([rt.runc.bin, '--root', rt.runc.root, 'exec', c.id, ...p.exec.command], { stdio: 'ignore', program: 'runc', timeoutMs }).exited.then(
      ({ code }) => (code === 0 ? undefined : `${p.exec!.command.join(' ')} exited with ${code}`),
      (e: unknown) => (e instanceof DeadlineError ? `timed out after ${p.timeoutSeconds}s` : (e as Error).message),
    );
  }
  if (p.tcpSocket) {
    const { port, host = '127.0.0.1' } = p.tcpSocket;
    return new Promise((resolve) => {
      const sock = net.connect({ port, host, timeout: timeoutMs });
      sock.once('connect', () => {
        sock.destroy();
        resolve(undefined);
      });
      sock.once('timeout', () => {
        sock.destroy();
        resolve(`tcp ${host}:${port}: timed out`);
      });
      sock.once('error', (e) => resolve(`tcp ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
  }
  const g = p.httpGet!;
  return new Promise((resolve) => {
    const req = http.get(
      { host: g.host ?? '127.0.0.1', port: g.port, path: g.path, headers: { 'User-Agent': 'barepod-probe', ...g.headers }, timeout: timeoutMs },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? undefined : `HTTP ${code} from ${g.path}`);
      },
    );
    req.once('timeout', () => {
      req.destroy();
      resolve(`GET ${g.path}: timed out after ${p.timeoutSeconds}s`);
    });
    req.once('error', (e) => resolve(`GET ${g.path}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
  });
}

/** A failed liveness or startup probe: SIGTERM, SIGKILL after the grace period; the exit handler restarts it per policy. */
function kill(rt: Runtime, rec: PodRecord, c: ContainerRecord, why: string): void {
  appendEvent(rt.settings.stateRoot, { type: 'unhealthy', pod: rec.def.name, container: c.def.name, message: why });
  const proc = c.process;
  if (!proc || !isAlive(proc)) return;
  const send = (sig: NodeJS.Signals) => signalMember(rt, c.id, proc, sig, inPodPidNamespace(rec.def, c.def)).catch(() => undefined); // gone meanwhile
  void send('SIGTERM');
  setTimeout(() => {
    if (isAlive(proc)) void send('SIGKILL');
  }, rec.def.graceSeconds * 1000);
}

/**
 * Probes, as the kubelet runs them: one small static C prober per pod that
 * has probes (none otherwise; bundles/prober), which enters the pod's
 * network namespace, so tcpSocket and httpGet reach 127.0.0.1 of the pod.
 * It follows a plain config (probes.conf, plan/probe-config.ts) that barepod
 * rewrites whenever a container instance starts or goes. Startup gates the
 * others; readiness decides Ready (written to the pod's probes.json, read by
 * `ps`, `wait`, `up --wait`); a liveness (or startup) failure runs
 * `barepod _unhealthy`, which kills the container, and its restart policy
 * then restarts it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError, isNoSpace } from '../errors.js';
import { isActive, type ContainerRecord, type PodRecord } from '../model.js';
import { podPaths } from '../plan/paths.js';
import { appendEvent } from '../runtime/events.js';
import { identify, isAlive } from '../runtime/procfs.js';
import { launch } from '../runtime/exec.js';
import { selfArgv } from '../runtime/self.js';
import { writeFileAtomic } from '../runtime/state.js';
import { inPodPidNamespace } from '../plan/pod-plan.js';
import { probeConfigText } from '../plan/probe-config.js';
import { signalMember, tryPlaceMonitor } from './member.js';
import type { Runtime } from './runtime.js';
import { explain, explaining, explainResult, explainRun } from '../runtime/explain.js';
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

/** The prober's config in the pod directory (plan/probe-config.ts). */
export const probeConfigFile = (stateRoot: string, pod: string): string => path.join(podPaths(stateRoot, pod).dir, 'probes.conf');

/** The prober's path: beside the bundle (dist/), where `npm run build` puts it, or where bundles/prober builds it. */
export function proberHelper(): string {
  const dir = path.dirname(path.resolve(process.argv[1] ?? ''));
  for (const candidate of [path.join(dir, 'barepod-prober'), path.join(dir, '..', 'bundles', 'prober', 'barepod-prober')]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new BarepodError('missing-tool', "barepod-prober not found (the program that runs a pod's probes)", {
    hint: 'build it: apt-get install gcc make, then npm run build (or scripts/setup)',
  });
}

/**
 * Brings the pod's probes.conf in line with its record: written (atomically,
 * only when it changed) while the pod is looked after and has probes, removed
 * otherwise (its prober then ends by itself). Called where a record is saved
 * (withRecord), so every start and restart of a container reaches it.
 */
export function syncProbeConfig(rt: Runtime, rec: PodRecord): void {
  const file = probeConfigFile(rt.settings.stateRoot, rec.def.name);
  if (!isActive(rec) || !hasProbes(rec)) {
    fs.rmSync(file, { force: true });
    return;
  }
  const text = probeConfigText(rec, {
    runcBin: rt.runc.bin,
    runcRoot: rt.runc.root,
    unhealthy: [...selfArgv(), '--root', rt.settings.stateRoot, '_unhealthy', rec.def.name],
  });
  let old: string | undefined;
  try {
    old = fs.readFileSync(file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === text) return;
  try {
    writeFileAtomic(file, text);
  } catch (e) {
    if (!isNoSpace(e)) throw e; // a full disk: the prober keeps the last config, the next save tries again
  }
}

/** Starts the pod's prober when a container has probes (it enters the pod's netns unless the pod uses the host's); records it. */
export function startProber(rt: Runtime, rec: PodRecord): void {
  stopProber(rec);
  if (!hasProbes(rec)) return;
  const helper = proberHelper();
  syncProbeConfig(rt, rec); // before it starts: it reads the config first
  const dir = podPaths(rt.settings.stateRoot, rec.def.name).dir;
  const argv = [helper, dir];
  if (explaining) explainRun(`${shellWords(argv)} &`);
  // a monitor that lives as long as the pod: no deadline; its own process group (its exec probes' runc exec join it)
  const run = launch(argv, { outlives: true, detached: true, stdio: 'ignore', timeoutMs: 0, program: 'barepod-prober' });
  run.release();
  const child = run.child;
  tryPlaceMonitor(rt, rec, child.pid); // out of the caller's session, beside the pod's conmons
  const id = child.pid ? identify(child.pid) : undefined;
  if (id) rec.prober = id;
  syncProbeConfig(rt, rec); // it names the new prober: one an interrupted start left running sees it and ends
  if (explaining)
    explainResult(
      `prober pid ${child.pid}: ${rec.def.host?.includes('net') ? '' : `it enters /proc/${rec.sandbox.pid}/ns/net, `}follows ${probeConfigFile(rt.settings.stateRoot, rec.def.name)} and writes ${probesFile(rt.settings.stateRoot, rec.def.name)}`,
    );
}

/** Ends the pod's prober, if any, with the exec probes it runs (its process group). */
export function stopProber(rec: PodRecord): void {
  if (rec.prober && isAlive(rec.prober)) {
    try {
      // alive (checked by pid and start time) and a group leader: the group is its
      process.kill(-rec.prober.pid, 'SIGKILL');
    } catch {
      try {
        process.kill(rec.prober.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  delete rec.prober;
}

/** The next command on a running pod whose prober died (killed, OOM) starts it again, as `gc` does. */
export function restartDeadProber(rt: Runtime, rec: PodRecord): boolean {
  if (rec.phase !== 'Running' || !hasProbes(rec) || isAlive(rec.prober) || !isAlive(rec.sandbox)) return false;
  if (explaining) explain(`the pod's prober${rec.prober ? ` (pid ${rec.prober.pid})` : ''} is gone: start it again`);
  startProber(rt, rec);
  return true;
}

/**
 * `_unhealthy`: the prober saw a liveness or startup probe fail
 * failureThreshold times for this launch of the container. An event, then
 * SIGTERM, SIGKILL after the grace period (checked by pid and start time);
 * the exit handler restarts it per policy. Not under the pod's lock (the
 * exit handler needs it meanwhile); a launch that is no longer the
 * container's current one is left alone.
 */
export async function handleUnhealthy(rt: Runtime, pod: string, name: string, launchId: string, why: string): Promise<void> {
  const rec = rt.store.tryRead(pod);
  if (!rec || !isActive(rec)) return;
  const c = rec.containers.find((x) => x.def.name === name);
  if (!c || c.launchId !== launchId) return;
  appendEvent(rt.settings.stateRoot, { type: 'unhealthy', pod, container: name, message: why });
  const proc = c.process;
  if (!proc || !isAlive(proc)) return;
  const all = inPodPidNamespace(rec.def, c.def);
  const send = (sig: NodeJS.Signals) => signalMember(rt, c.id, proc, sig, all).catch(() => undefined); // gone meanwhile
  await send('SIGTERM');
  const deadline = Date.now() + rec.def.graceSeconds * 1000;
  while (isAlive(proc) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(proc)) await send('SIGKILL');
}

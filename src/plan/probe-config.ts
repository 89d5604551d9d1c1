/**
 * The config of a pod's prober (bundles/prober, a small static C program):
 * plain lines of tab-separated fields, each field escaped (\\ \t \n \r \0),
 * ending in `end` so a reader knows it is whole. Pure: the record in, the
 * text out; src/pod/prober.ts writes it atomically into the pod directory
 * whenever it changes (a container instance started or went), and the
 * prober re-reads it then. The format is described in bundles/prober/prober.c.
 */
import type { ContainerProbes, PodRecord, ProbeDefinition } from '../model.js';

export interface ProbeConfigContext {
  /** the runc binary and its --root: an exec probe is `runc --root ROOT exec ID CMD...` */
  runcBin: string;
  runcRoot: string;
  /** barepod's argv up to the pod name for `_unhealthy` (the prober adds CONTAINER LAUNCHID WHY) */
  unhealthy: string[];
}

/** One field: the separators and line ends escaped (a NUL, which no argv can hold, as \0: the prober fails such a probe). */
export const escapeField = (s: string): string =>
  s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\\0');

const line = (fields: (string | number)[]): string => fields.map((f) => escapeField(String(f))).join('\t') + '\n';

const KINDS: (keyof ContainerProbes)[] = ['startup', 'liveness', 'readiness'];

function probeLine(kind: keyof ContainerProbes, p: ProbeDefinition): string {
  const timing = [kind, p.initialDelaySeconds, p.periodSeconds, p.timeoutSeconds, p.successThreshold, p.failureThreshold];
  if (p.exec) return line(['probe', ...timing, 'exec', ...p.exec.command]);
  if (p.tcpSocket) return line(['probe', ...timing, 'tcp', p.tcpSocket.host ?? '', p.tcpSocket.port]);
  const g = p.httpGet!;
  return line(['probe', ...timing, 'http', g.host ?? '', g.port, g.path, ...Object.entries(g.headers ?? {}).flat()]);
}

/**
 * The prober's config for a record: the pause it lives beside (and whether
 * it enters its network namespace), the prober the record names, and every running container instance
 * that has probes, with its launch, start time, runc id and process.
 */
export function probeConfigText(rec: PodRecord, ctx: ProbeConfigContext): string {
  let text = line(['barepod-prober', 1]);
  text += line(['pod', rec.def.name]);
  text += line(['pause', rec.sandbox.pid, rec.sandbox.startTime, rec.def.host?.includes('net') ? 0 : 1]);
  // the recorded prober: an older one still running (its starter killed before it recorded it) sees it and ends
  if (rec.prober) text += line(['prober', rec.prober.pid, rec.prober.startTime]);
  text += line(['runc', ctx.runcBin, ctx.runcRoot]);
  text += line(['unhealthy', ...ctx.unhealthy]);
  for (const c of rec.containers) {
    const probes = c.def.probes;
    if (!probes || !KINDS.some((k) => probes[k]) || c.state !== 'running' || !c.launchId || !c.process) continue;
    const startedMs = Date.parse(c.startedAt ?? '');
    text += line(['container', c.def.name, c.launchId, Number.isNaN(startedMs) ? 0 : startedMs, c.id, c.process.pid, c.process.startTime]);
    for (const kind of KINDS) {
      const p = probes[kind];
      if (p) text += probeLine(kind, p);
    }
  }
  return text + 'end\n';
}

import fs from 'node:fs';
import { findContainer } from './containers.js';
import { containerPaths } from '../plan/paths.js';
import type { Runtime } from './runtime.js';

/** One line of a container's output, as conmon kept it in its CRI (k8s-file) log. */
export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * Parses a CRI log: `<RFC3339Nano> <stdout|stderr> <F|P> <text>` per record;
 * a P (partial) record is continued by the following ones of the same stream
 * up to the next F, so long lines come back whole.
 */
export function parseCriLog(content: string): LogLine[] {
  const out: LogLine[] = [];
  const pending: Partial<Record<'stdout' | 'stderr', LogLine>> = {};
  for (const raw of content.split('\n')) {
    const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(raw);
    if (!m) continue;
    const [, time = '', s, tag, text = ''] = m;
    const stream = s as 'stdout' | 'stderr';
    const prev = pending[stream];
    const line = prev ? { ...prev, text: prev.text + text } : { time, stream, text };
    if (tag === 'P') pending[stream] = line;
    else {
      delete pending[stream];
      out.push(line);
    }
  }
  for (const line of Object.values(pending)) if (line) out.push(line);
  return out;
}

/** The log lines of containers of a pod, merged in time order and tagged with the container name. */
export function readLogs(rt: Runtime, pod: string, container?: string): (LogLine & { container: string })[] {
  const rec = rt.store.read(pod);
  const names = container ? [container] : rec.containers.map((c) => c.def.name);
  if (container) findContainer(rec, container);
  const all: (LogLine & { container: string })[] = [];
  for (const name of names) {
    let content = '';
    try {
      content = fs.readFileSync(containerPaths(rt.settings.stateRoot, pod, name).log, 'utf8');
    } catch {
      continue; // no output yet
    }
    for (const line of parseCriLog(content)) all.push({ ...line, container: name });
  }
  return all.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

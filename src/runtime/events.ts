import fs from 'node:fs';
import { eventsFile } from '../plan/paths.js';
import { writeFileAtomic } from './private-fs.js';

/** What happened to a pod member; `barepod events` lists them. */
export type EventType =
  | 'started'
  | 'died'
  | 'oom'
  | 'backoff'
  | 'restarted'
  | 'restart-failed'
  | 'stopped'
  | 'unhealthy'
  | 'sandbox-died'
  | 'sandbox-recreated'
  | 'pod-failed'
  | 'warning';

export interface PodEvent {
  time: string;
  type: EventType;
  pod: string;
  container?: string;
  exitCode?: number | null;
  reason?: string;
  restarts?: number;
  delayMs?: number;
  message?: string;
}

/** Past this size the log keeps only its newer half. */
const MAX_BYTES = 4 * 1024 * 1024;

/**
 * Appends one event to the state root's log. One short line per write(2)
 * with O_APPEND: concurrent writers (exit handlers of several pods) never
 * interleave inside a line.
 */
export function appendEvent(stateRoot: string, ev: Omit<PodEvent, 'time'> & { time?: string }): void {
  const file = eventsFile(stateRoot);
  const line = JSON.stringify({ time: ev.time ?? new Date().toISOString(), ...ev }) + '\n';
  try {
    // never through a symlink; 0600: a message can quote what a container printed
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    try {
      const st = fs.fstatSync(fd);
      if ((st.mode & 0o077) !== 0) fs.fchmodSync(fd, 0o600); // the log of an older barepod
      fs.writeSync(fd, line);
    } finally {
      fs.closeSync(fd);
    }
    if (fs.statSync(file).size > MAX_BYTES) trim(file);
  } catch {
    // events are for people; never fail a lifecycle step because one could not be written
  }
}

function trim(file: string): void {
  const text = fs.readFileSync(file, 'utf8');
  const keep = text.slice(text.indexOf('\n', text.length / 2) + 1);
  writeFileAtomic(file, keep);
}

/** Parses event lines; torn or foreign lines are skipped. */
export function parseEvents(text: string): PodEvent[] {
  const out: PodEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const ev = JSON.parse(line) as PodEvent;
      if (typeof ev.time === 'string' && typeof ev.type === 'string' && typeof ev.pod === 'string') out.push(ev);
    } catch {
      // a line cut by a crash: skip it
    }
  }
  return out;
}

/** Every event of the state root, oldest first. */
export function readEvents(stateRoot: string): PodEvent[] {
  try {
    return parseEvents(fs.readFileSync(eventsFile(stateRoot), 'utf8'));
  } catch {
    return [];
  }
}

/**
 * Kubernetes' AtomicWriter (pkg/volume/util/atomic_writer.go): a volume
 * whose files change while containers read them, and a reader never sees
 * half of an update.
 *
 *     <dir>/..2026_12_01_20_41_07.1234567/   the files of one version
 *     <dir>/..data -> ..2026_12_01_…          swapped with rename(2)
 *     <dir>/<key>  -> ..data/<key>            one link per top-level entry
 *
 * An update writes a new timestamped directory beside the current one,
 * points `..data_tmp` at it and renames that over `..data` (atomic), then
 * adds links for new entries, removes links of entries gone, and removes the
 * old versions. A volume mounted (not through subPath) into a container sees
 * the new files at once: the directory it has is this one.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** One file of a version: its bytes and mode. */
export interface PayloadFile {
  data: Buffer;
  mode: number;
}

/** The files of a version by path relative to the volume (no `..`, not absolute, not starting with `..`). */
export type Payload = Map<string, PayloadFile>;

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** A version directory's name: `..<UTC timestamp>.<random>`, as the kubelet names them. */
function versionName(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const ts = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${ts}.${randomBytes(5).toString('hex')}`;
}

/** Checks a payload path: relative, inside the volume, not one of the writer's own `..` names. */
function checkPath(p: string): void {
  if (p === '' || path.isAbsolute(p) || p.split('/').includes('..') || p.startsWith('..') || p.split('/').some((c) => c === '' || c === '.')) {
    throw new Error(`atomic writer: "${p}" is not a relative path inside the volume`);
  }
}

/** The files the current version holds (path → bytes and mode), or undefined when there is none. */
function currentFiles(dir: string): Payload | undefined {
  const data = path.join(dir, DATA);
  let target: string;
  try {
    target = fs.readlinkSync(data);
  } catch {
    return undefined;
  }
  // only a version of this very directory (`..<name>`), never a link elsewhere
  if (target.includes('/') || !target.startsWith('..') || target === '..' || target === DATA) return undefined;
  const root = path.join(dir, target);
  const out: Payload = new Map();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        const st = fs.statSync(path.join(root, r));
        out.set(r, { data: fs.readFileSync(path.join(root, r)), mode: st.mode & 0o7777 });
      }
    }
  };
  try {
    walk('');
  } catch {
    return undefined; // a broken version: write a new one
  }
  return out;
}

const samePayload = (a: Payload, b: Payload): boolean =>
  a.size === b.size && [...a].every(([p, f]) => b.has(p) && b.get(p)!.mode === f.mode && b.get(p)!.data.equals(f.data));

/**
 * Writes `payload` as the volume's content: a no-op (false) when the
 * current version holds exactly it, else a new version swapped in (true).
 * `dir` exists and only barepod writes in it (a container has it read-only).
 */
export function writeAtomically(dir: string, payload: Payload, now = new Date()): boolean {
  for (const p of payload.keys()) checkPath(p);
  const current = currentFiles(dir);
  if (current && samePayload(current, payload)) return false;
  const version = versionName(now);
  const vdir = path.join(dir, version);
  fs.mkdirSync(vdir, { mode: 0o755 });
  try {
    fs.chmodSync(vdir, 0o755);
    for (const [p, f] of [...payload].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const file = path.join(vdir, p);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
      try {
        fs.writeSync(fd, f.data);
        fs.fchmodSync(fd, f.mode);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.rmSync(path.join(dir, DATA_TMP), { force: true });
    fs.symlinkSync(version, path.join(dir, DATA_TMP));
    fs.renameSync(path.join(dir, DATA_TMP), path.join(dir, DATA));
  } catch (e) {
    fs.rmSync(vdir, { recursive: true, force: true });
    fs.rmSync(path.join(dir, DATA_TMP), { force: true });
    throw e;
  }
  // the top-level entries: a link to ..data/<entry> for each, none for an entry gone
  const top = new Set([...payload.keys()].map((p) => p.split('/')[0]!));
  for (const entry of top) {
    const link = path.join(dir, entry);
    const want = path.join(DATA, entry);
    const st = fs.lstatSync(link, { throwIfNoEntry: false });
    if (st?.isSymbolicLink() && fs.readlinkSync(link) === want) continue;
    if (st) fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(want, link);
  }
  for (const e of fs.readdirSync(dir)) {
    if (e === DATA || e === version) continue;
    if (e.startsWith('..'))
      fs.rmSync(path.join(dir, e), { recursive: true, force: true }); // old versions
    else if (!top.has(e)) fs.rmSync(path.join(dir, e), { recursive: true, force: true }); // links of entries gone
  }
  return true;
}

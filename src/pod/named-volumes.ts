/**
 * Named local volumes: what a persistentVolumeClaim volume mounts, as
 * podman's named volumes. One per claim name and state root:
 *
 *     <dataDir>/volumes[/<root tag>]/<name>/          0700, root's
 *         volume.json                                 0600: created, the claim's request, the pods that used it
 *         _data/                                      0755: what pods mount (created on first use)
 *
 * The metadata sits beside the data, never in it, so a pod cannot change it.
 * A volume outlives its pods: `down` keeps it, `volume rm` and
 * `down -f FILE --volumes` remove it, never while a pod of the state root
 * still uses it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import type { ClaimVolume, PodDefinition } from '../model.js';
import { validateVolumeName } from '../names.js';
import { ownDataDir, type Settings } from '../runtime/host.js';
import { mountsUnder } from '../runtime/mounts.js';
import { ensurePrivateDir, privateSubdir, writeFileAtomic } from '../runtime/private-fs.js';
import { withFileLock } from '../runtime/state.js';
import type { StateStore } from '../runtime/state.js';

type DataSettings = Pick<Settings, 'dataDir' | 'cgroupRoot'>;

/** What volume.json holds. */
export interface VolumeMeta {
  name: string;
  createdAt: string;
  /** what made it: a PersistentVolumeClaim document, or a pod's claim that no document defined */
  createdBy: 'PersistentVolumeClaim' | 'pod';
  /** the claim's request, from the last PersistentVolumeClaim document applied (recorded: a directory has no size of its own) */
  claim?: { accessModes: string[]; storageBytes: number; storageClassName?: string };
  /** every pod that has mounted it (see usersOf for the ones that still exist) */
  pods: string[];
}

/** The directory of every named volume of a state root. */
export const volumesDir = (settings: DataSettings): string => ownDataDir(settings, 'volumes');

/** One volume's directory, data directory (what pods mount) and metadata file. */
export function volumePaths(settings: DataSettings, name: string): { dir: string; data: string; meta: string } {
  validateVolumeName(name);
  const dir = path.join(volumesDir(settings), name);
  return { dir, data: path.join(dir, '_data'), meta: path.join(dir, 'volume.json') };
}

const lockOf = (dir: string) => path.join(path.dirname(dir), '.lock');

export function readVolume(settings: DataSettings, name: string): VolumeMeta | undefined {
  return readMeta(volumePaths(settings, name).meta);
}

function readMeta(file: string): VolumeMeta | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as VolumeMeta;
}

/** The names of the volumes of a state root, sorted. */
export function listVolumes(settings: DataSettings): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(volumesDir(settings), { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(volumesDir(settings), e.name, 'volume.json')))
    .map((e) => e.name)
    .sort();
}

/**
 * Makes a volume when it is missing (its dirs and metadata) and records what
 * is given: a claim's request, a pod that uses it. Returns whether it was
 * made, and whether the request recorded changed.
 * `dir` is the volume's directory (the parent of its `_data`).
 */
export async function ensureVolumeAt(
  dir: string,
  o: { claim?: VolumeMeta['claim']; pod?: string; createdBy: VolumeMeta['createdBy'] },
): Promise<{ created: boolean; changed: boolean }> {
  const name = path.basename(dir);
  validateVolumeName(name);
  ensurePrivateDir(path.dirname(dir), 'volumes directory');
  return withFileLock(lockOf(dir), `volume "${name}"`, async () => {
    const metaFile = path.join(dir, 'volume.json');
    const had = readMeta(metaFile);
    privateSubdir(dir);
    const data = path.join(dir, '_data');
    const st = fs.lstatSync(data, { throwIfNoEntry: false });
    if (!st) fs.mkdirSync(data, { mode: 0o755 });
    else if (!st.isDirectory())
      throw new BarepodError('invalid-value', `volume "${name}": ${data} is not a directory`, { hint: `remove it (barepod volume rm ${name})` });
    const meta: VolumeMeta = had ?? { name, createdAt: new Date().toISOString(), createdBy: o.createdBy, pods: [] };
    const changed = had !== undefined && o.claim !== undefined && JSON.stringify(had.claim) !== JSON.stringify(o.claim);
    if (o.claim) meta.claim = o.claim;
    if (o.pod && !meta.pods.includes(o.pod)) meta.pods.push(o.pod);
    writeFileAtomic(metaFile, JSON.stringify(meta, null, 2) + '\n');
    return { created: had === undefined, changed };
  });
}

/** Fills in each claim volume's host path (its `_data`): what `up` does before it plans or makes the pods. */
export function bindClaims<T extends { pod: PodDefinition }>(settings: DataSettings, pods: T[]): T[] {
  return pods.map((p) =>
    p.pod.volumes?.some((v) => v.kind === 'persistentVolumeClaim')
      ? {
          ...p,
          pod: {
            ...p.pod,
            volumes: p.pod.volumes.map((v) => (v.kind === 'persistentVolumeClaim' ? { ...v, path: volumePaths(settings, v.claimName).data } : v)),
          },
        }
      : p,
  );
}

/** The claim volumes of a pod definition. */
export const claimsOf = (def: Pick<PodDefinition, 'volumes'>): ClaimVolume[] =>
  (def.volumes ?? []).filter((v): v is ClaimVolume => v.kind === 'persistentVolumeClaim');

/** The pods of the state root (records that exist now) that use a volume, sorted. */
export function usersOf(store: Pick<StateStore, 'list' | 'tryRead'>, name: string): string[] {
  return store
    .list()
    .filter((pod) => {
      const rec = store.tryRead(pod);
      return rec !== undefined && claimsOf(rec.def).some((v) => v.claimName === name);
    })
    .sort();
}

/**
 * Removes a volume and its data. Refused while a pod uses it (the caller
 * takes such pods down first when asked to) or while anything is mounted in
 * it; the data is removed without following a symlink out of it.
 */
export async function removeVolume(settings: DataSettings, store: Pick<StateStore, 'list' | 'tryRead'>, name: string): Promise<'removed' | 'not-found'> {
  const { dir } = volumePaths(settings, name);
  if (!fs.existsSync(dir)) return 'not-found';
  return withFileLock(lockOf(dir), `volume "${name}"`, async () => {
    const users = usersOf(store, name);
    if (users.length) {
      throw new BarepodError('busy', `volume "${name}" is used by pod${users.length > 1 ? 's' : ''} ${users.map((p) => `"${p}"`).join(', ')}`, {
        hint: `take the pod down first (barepod down ${users.join(' ')}), or barepod volume rm -f ${name} (removes the pods using it, then the volume)`,
      });
    }
    const mounted = mountsUnder(dir);
    if (mounted.length) {
      throw new BarepodError('busy', `volume "${name}": ${mounted[0]} is mounted`, { hint: `unmount it (umount ${mounted[0]}) and try again` });
    }
    // rmSync unlinks a symlink, never what it points at
    fs.rmSync(dir, { recursive: true, force: true });
    return 'removed' as const;
  });
}

/** Sizes and counts of a volume's data, for `volume inspect` (symlinks not followed). */
export function volumeUsage(data: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      files++;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) bytes += fs.lstatSync(p).size;
    }
  };
  walk(data);
  return { bytes, files };
}

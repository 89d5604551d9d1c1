import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { candidateNames, imageDefaults, isLocalName, normalizeName, resolveUserSpec, userError, type ImageDefaults } from '../plan/image-ref.js';
import { readFileInRoot } from './rootfs-files.js';
import type { Settings } from './host.js';
import { ImageStore } from './image-store.js';

/** An image ready to become a container's root: its layers (top first) and its defaults. */
export interface ResolvedImage {
  name: string;
  /** the manifest digest of a stored image; undefined for the built-in busybox */
  digest?: string | undefined;
  /** overlay lowerdirs, top layer first */
  layers: string[];
  defaults: ImageDefaults;
}

/** Names that mean the built-in busybox image (made by scripts/setup from Debian's busybox-static); they win over a pulled docker.io busybox, which stays reachable by its full name. */
export const BUSYBOX_NAMES = new Set(['busybox', 'busybox:latest', 'barepod/busybox', 'barepod/busybox:latest']);

/** Directory of the built-in images. */
export const builtinDir = (dataDir: string): string => path.join(dataDir, 'builtin');

/** The pause sandbox's root filesystem (holds only /pause). */
export const pauseRootfs = (dataDir: string): string => path.join(builtinDir(dataDir), 'pause', 'rootfs');

/** The built-in busybox's rootfs. */
export const busyboxRootfs = (dataDir: string): string => path.join(builtinDir(dataDir), 'busybox', 'rootfs');

const BUSYBOX_DEFAULTS: ImageDefaults = { entrypoint: [], cmd: ['sh'], env: [], workdir: '/', user: '' };

/**
 * Resolves an image reference: the built-in busybox, or an image of the
 * store by name (or, for a container that already has one, by the manifest
 * digest it was created from, so a re-pulled tag never changes it under it).
 */
export function resolveImage(settings: Pick<Settings, 'dataDir' | 'imagesDir'>, ref: string, digest?: string): ResolvedImage {
  if (BUSYBOX_NAMES.has(ref)) {
    const rootfs = busyboxRootfs(settings.dataDir);
    if (!fs.existsSync(path.join(rootfs, 'bin', 'busybox'))) {
      throw new BarepodError('missing-tool', `the built-in busybox image is not built (${rootfs})`, { hint: 'run scripts/setup' });
    }
    return { name: 'busybox', layers: [rootfs], defaults: BUSYBOX_DEFAULTS };
  }
  const store = new ImageStore(settings.imagesDir);
  const desc = digest
    ? { digest }
    : candidateNames(ref)
        .map((n) => store.find(n))
        .find(Boolean);
  if (!desc) {
    throw new BarepodError('not-found', `image ${ref} is not in the image store`, {
      hint: isLocalName(ref)
        ? `${normalizeName(ref)} is a local name (localhost/), never pulled: make it with barepod import TARBALL ${ref}, or barepod pull SOURCE --name ${ref}; list images with barepod images`
        : `pull it first (barepod pull ${ref}), or let run pull it (without --pull never)`,
    });
  }
  const img = store.image(desc.digest, ref);
  const layers = img.layers.map((l) => store.layerDir(l.diffId)).reverse();
  const missing = layers.find((d) => !fs.existsSync(d));
  if (missing) throw new BarepodError('corrupt', `image ${ref}: its unpacked layer ${missing} is missing`, { hint: `pull it again: barepod pull ${ref}` });
  if (layers.length === 0) throw new BarepodError('invalid-value', `image ${ref} has no layers`);
  return { name: img.name, digest: img.digest, layers, defaults: imageDefaults(img.config) };
}

/** Fails naming the fix when the pause rootfs has not been built. */
export function requirePause(dataDir: string): string {
  const root = pauseRootfs(dataDir);
  if (!fs.existsSync(path.join(root, 'pause'))) {
    throw new BarepodError('missing-tool', `pause is not built (${path.join(root, 'pause')})`, { hint: 'run scripts/setup (builds bundles/pause/pause.c)' });
  }
  return root;
}

/**
 * A definition whose user is a name, with the uid/gid that name has in the
 * container's own /etc/passwd and /etc/group (read inside the rootfs, never
 * following a symlink out of it); others are returned as they are.
 */
export function withRootfsUser<T extends { userName?: string; userFromImage?: boolean; image?: string | null; user: { uid: number; gid: number } }>(
  def: T,
  rootfs: string,
): T {
  if (!def.userName) return def;
  const passwd = readFileInRoot(rootfs, '/etc/passwd') ?? '';
  const group = readFileInRoot(rootfs, '/etc/group') ?? '';
  try {
    return { ...def, user: resolveUserSpec(def.userName, passwd, group) };
  } catch (e) {
    // say where the name came from: the image's USER, or --user
    throw userError(e, def.userName, def.userFromImage ? (def.image ?? 'busybox') : undefined);
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';

/** An image ready to become a container's root: its layers (lowest last) and its defaults. */
export interface ResolvedImage {
  name: string;
  /** overlay lowerdirs, top layer first */
  layers: string[];
  defaults: { args: string[]; env: string[]; workdir: string };
}

/** Names that mean the built-in busybox image (made by scripts/setup from Debian's busybox-static). */
const BUSYBOX_NAMES = new Set(['busybox', 'busybox:latest', 'barepod/busybox', 'barepod/busybox:latest']);

/** Directory of the built-in images. */
export const builtinDir = (dataDir: string): string => path.join(dataDir, 'builtin');

/** The pause sandbox's root filesystem (holds only /pause). */
export const pauseRootfs = (dataDir: string): string => path.join(builtinDir(dataDir), 'pause', 'rootfs');

/** Resolves an image reference; only the built-in busybox exists until image pulling lands. */
export function resolveImage(dataDir: string, ref: string): ResolvedImage {
  if (!BUSYBOX_NAMES.has(ref)) {
    throw new BarepodError('not-found', `image "${ref}" not found: only the built-in "busybox" image is available`, {
      hint: 'use --image busybox, or --rootfs DIR for a prepared root filesystem',
    });
  }
  const rootfs = path.join(builtinDir(dataDir), 'busybox', 'rootfs');
  if (!fs.existsSync(path.join(rootfs, 'bin', 'busybox'))) {
    throw new BarepodError('missing-tool', `the built-in busybox image is not built (${rootfs})`, { hint: 'run scripts/setup' });
  }
  return { name: 'busybox', layers: [rootfs], defaults: { args: ['sh'], env: [], workdir: '/' } };
}

/** Fails naming the fix when the pause rootfs has not been built. */
export function requirePause(dataDir: string): string {
  const root = pauseRootfs(dataDir);
  if (!fs.existsSync(path.join(root, 'pause'))) {
    throw new BarepodError('missing-tool', `pause is not built (${path.join(root, 'pause')})`, { hint: 'run scripts/setup (builds bundles/pause/pause.c)' });
  }
  return root;
}

/**
 * Image verbs over the store: pull, the pull-if-missing of `run`, import,
 * list (with the built-in busybox) and remove (refused while a pod uses it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { candidateNames, localImageName, parseSource } from '../plan/image-ref.js';
import type { Settings } from '../runtime/host.js';
import { ImageStore, type Progress, type StoredImage } from '../runtime/image-store.js';
import { BUSYBOX_NAMES, busyboxRootfs, resolveImage, type ResolvedImage } from '../runtime/images.js';
import type { CopyOptions } from '../runtime/skopeo.js';
import { StateStore } from '../runtime/state.js';
import { explainStep } from '../runtime/explain.js';
import { imageTitle } from '../plan/narration.js';

export type PullPolicy = 'missing' | 'never' | 'always';

/** `barepod pull`: a registry reference or oci:/oci-archive:/docker-archive: source into the store. */
export async function pullImage(
  settings: Settings,
  source: string,
  o: CopyOptions & { name?: string | undefined; progress?: Progress | undefined },
): Promise<StoredImage> {
  const src = parseSource(source, o.name);
  return new ImageStore(settings.imagesDir).pull(src, { ...o, progress: o.progress });
}

/** `barepod import`: a rootfs tarball as a one-layer image. */
export async function importImage(settings: Settings, file: string, name: string, progress?: Progress): Promise<StoredImage> {
  return new ImageStore(settings.imagesDir).importTar(path.resolve(file), localImageName(name), progress);
}

/** The image `run` uses, pulled first when the policy says so (the built-in busybox is never pulled). */
export async function ensureImage(
  settings: Settings,
  ref: string,
  policy: PullPolicy,
  o: CopyOptions & { progress?: Progress | undefined },
): Promise<ResolvedImage> {
  if (BUSYBOX_NAMES.has(ref))
    return explainStep(
      () => imageTitle(ref, { builtin: busyboxRootfs(settings.dataDir) }),
      async () => resolveImage(settings, ref),
    );
  if (!['missing', 'never', 'always'].includes(policy)) throw new BarepodError('invalid-value', `--pull "${policy}": must be missing, never or always`);
  const store = new ImageStore(settings.imagesDir);
  const have = candidateNames(ref).some((n) => store.find(n));
  const pull = policy === 'always' || (policy === 'missing' && !have);
  return explainStep(
    () => imageTitle(ref, { have, policy, pull, store: settings.imagesDir }),
    async () => {
      if (pull) await pullImage(settings, ref, o);
      return resolveImage(settings, ref);
    },
  );
}

/** A row of `barepod images`. */
export interface ImageView {
  name: string;
  digest: string | null;
  size: number;
  layers: { digest: string; diffId: string; size: number }[];
  created: string | null;
  builtin: boolean;
}

function duBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += duBytes(p);
    else if (e.isFile()) total += fs.lstatSync(p).size;
  }
  return total;
}

/** Every image: the built-in busybox first (when built), then the store's by name. */
export function listImages(settings: Settings): ImageView[] {
  const out: ImageView[] = [];
  const bb = busyboxRootfs(settings.dataDir);
  if (fs.existsSync(path.join(bb, 'bin', 'busybox'))) out.push({ name: 'busybox', digest: null, size: duBytes(bb), layers: [], created: null, builtin: true });
  const stored = new ImageStore(settings.imagesDir).list().sort((a, b) => a.name.localeCompare(b.name));
  for (const i of stored) {
    out.push({
      name: i.name,
      digest: i.digest,
      size: i.size,
      layers: i.layers.map(({ digest, diffId, size }) => ({ digest, diffId, size })),
      created: i.created ?? null,
      builtin: false,
    });
  }
  return out;
}

/** Containers of the pods under this state root that use an image (by its digest, or by its name before they had one). */
function containersUsing(settings: Settings, img: StoredImage): string[] {
  const state = new StateStore(settings.stateRoot);
  const users: string[] = [];
  for (const pod of state.list()) {
    for (const c of state.tryRead(pod)?.containers ?? []) {
      let name: string | undefined;
      try {
        name = c.def.image && !BUSYBOX_NAMES.has(c.def.image) ? candidateNames(c.def.image).find((n) => n === img.name) : undefined;
      } catch {
        name = undefined;
      }
      if (c.def.imageId === img.digest || (!c.def.imageId && name === img.name)) users.push(`${pod}/${c.def.name}`);
    }
  }
  return users;
}

/** Manifest digests containers of this state root still need. */
function digestsInUse(settings: Settings): string[] {
  const state = new StateStore(settings.stateRoot);
  return state.list().flatMap((pod) => (state.tryRead(pod)?.containers ?? []).map((c) => c.def.imageId).filter((d): d is string => !!d));
}

/** `barepod rmi`: removes an image unless a container uses it; layers other images share stay. */
export async function removeImage(settings: Settings, ref: string): Promise<StoredImage> {
  if (BUSYBOX_NAMES.has(ref)) throw new BarepodError('invalid-value', 'the built-in busybox image cannot be removed', { hint: 'scripts/setup manages it' });
  const store = new ImageStore(settings.imagesDir);
  let key = ref;
  try {
    key = candidateNames(ref).find((n) => store.find(n)) ?? ref;
  } catch {
    // a digest or id prefix
  }
  return store.remove(
    key,
    (img) => containersUsing(settings, img),
    () => digestsInUse(settings),
  );
}

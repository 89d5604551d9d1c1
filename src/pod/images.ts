/**
 * Image verbs over the store: pull, the pull-if-missing of `run`, import,
 * list (with the built-in busybox) and remove (refused while a pod uses it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { candidateNames, isLocalName, localImageHint, localImageName, parseSource, shouldPull, type PullPolicy } from '../plan/image-ref.js';
import type { Settings } from '../runtime/host.js';
import { ImageStore, type Progress, type StoredImage } from '../runtime/image-store.js';
import { BUSYBOX_NAMES, busyboxRootfs, resolveImage, type ResolvedImage } from '../runtime/images.js';
import { ociArch, type CopyOptions } from '../runtime/skopeo.js';
import { StateStore } from '../runtime/state.js';
import { explainStep } from '../runtime/explain.js';
import { configFromChanges } from '../plan/image-changes.js';
import { imageTitle } from '../plan/narration.js';

export type { PullPolicy };

/** `barepod pull`: a registry reference or oci:/oci-archive:/docker-archive: source into the store. */
export async function pullImage(
  settings: Settings,
  source: string,
  o: CopyOptions & { name?: string | undefined; progress?: Progress | undefined },
): Promise<StoredImage> {
  const src = parseSource(source, o.name);
  return new ImageStore(settings.imagesDir).pull(src, { ...o, progress: o.progress });
}

/** `barepod import`: a rootfs tarball as a one-layer image, its config set by `changes` (Dockerfile instructions, checked before anything is read). */
export async function importImage(
  settings: Settings,
  file: string,
  name: string,
  o: { progress?: Progress | undefined; changes?: string[] } = {},
): Promise<StoredImage> {
  const config = configFromChanges(o.changes ?? []);
  const stored = localImageName(name);
  return new ImageStore(settings.imagesDir).importTar(path.resolve(file), stored, { progress: o.progress, config, changes: o.changes ?? [] });
}

/**
 * The image `run` and `up` use, pulled first when the policy says so: one
 * rule for both. The built-in busybox and a local name (`localhost/…`) are
 * never pulled; `missing` uses any of the reference's names the store has;
 * when a pull fails while the store has the image, the hint says how to use
 * it (`via`: a manifest's imagePullPolicy, or run's --pull).
 */
export async function ensureImage(
  settings: Settings,
  ref: string,
  policy: PullPolicy,
  o: CopyOptions & { progress?: Progress | undefined; via?: 'manifest' | 'cli' | undefined },
): Promise<ResolvedImage> {
  if (BUSYBOX_NAMES.has(ref))
    return explainStep(
      () => imageTitle(ref, { builtin: busyboxRootfs(settings.dataDir) }),
      async () => resolveImage(settings, ref),
    );
  if (!['missing', 'never', 'always'].includes(policy)) throw new BarepodError('invalid-value', `--pull "${policy}": must be missing, never or always`);
  const store = new ImageStore(settings.imagesDir);
  const stored = candidateNames(ref).find((n) => store.find(n));
  const have = stored !== undefined;
  const pull = shouldPull(ref, policy, have);
  const { via = 'cli', ...copy } = o;
  return explainStep(
    () => imageTitle(ref, { have, policy, pull, local: isLocalName(ref), store: settings.imagesDir }),
    async () => {
      if (pull) {
        try {
          await pullImage(settings, ref, copy);
        } catch (e) {
          if (!stored || !(e instanceof BarepodError)) throw e;
          throw new BarepodError(e.code, e.message, {
            hint: `${localImageHint(stored, via)}${e.hint ? `. For the pull itself: ${e.hint}` : ''}`,
            cause: e,
          });
        }
      }
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

/** `barepod image inspect`: one image, its identity, layers and the config a container starts from. */
export interface ImageInspectView {
  name: string;
  digest: string | null;
  builtin: boolean;
  created: string | null;
  architecture: string | null;
  os: string;
  size: number;
  layers: { digest: string; diffId: string; size: number; mediaType: string }[];
  /** the image config's Entrypoint, Cmd, Env, WorkingDir, User (and any other field it has) */
  config: Record<string, unknown>;
  history: unknown[];
}

/** Finds an image by name (a short name as run resolves it), digest or unique digest prefix; the built-in busybox too. */
export function inspectImage(settings: Settings, ref: string): ImageInspectView {
  if (BUSYBOX_NAMES.has(ref)) {
    const img = resolveImage(settings, ref);
    const d = img.defaults;
    return {
      name: 'busybox',
      digest: null,
      builtin: true,
      created: null,
      architecture: ociArch(),
      os: 'linux',
      size: duBytes(busyboxRootfs(settings.dataDir)),
      layers: [],
      config: { Entrypoint: d.entrypoint, Cmd: d.cmd, Env: d.env, WorkingDir: d.workdir, User: d.user },
      history: [],
    };
  }
  const store = new ImageStore(settings.imagesDir);
  let names: string[] = [];
  try {
    names = candidateNames(ref);
  } catch {
    // a digest or id prefix
  }
  const name = names.find((n) => store.find(n));
  const desc = store.find(name ?? ref);
  if (!desc)
    throw new BarepodError('not-found', `image ${ref} is not in the image store`, {
      hint: `list images with: barepod images${isLocalName(ref) ? '' : `; pull it with: barepod pull ${ref}`}`,
    });
  const img = store.image(desc.digest, name ?? desc.annotations?.['org.opencontainers.image.ref.name'] ?? desc.digest);
  const raw = img.config as { os?: string; history?: unknown[] };
  return {
    name: img.name,
    digest: img.digest,
    builtin: false,
    created: img.created ?? null,
    architecture: img.architecture ?? null,
    os: raw.os ?? 'linux',
    size: img.size,
    layers: img.layers,
    config: img.config.config ?? {},
    history: Array.isArray(raw.history) ? raw.history : [],
  };
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

/**
 * The image store: an OCI image layout (blobs by digest, one index.json
 * naming each image) plus every layer unpacked once, keyed by its diffID,
 * ready to be an overlayfs lowerdir.
 *
 *   <store>/oci-layout, index.json, blobs/sha256/<hex>
 *   <store>/layers/<diffID hex>/     unpacked layer (read-only by convention)
 *   <store>/tmp/<pid>.<start>.<rand>/  work in progress of one command
 *   <store>/lock                     one writer at a time
 *
 * Nothing half-written ever lands: skopeo copies into a private temp layout,
 * every blob is checked against its digest and every layer against its
 * diffID while it is unpacked into a temp directory, and only then are they
 * renamed into place and the index rewritten atomically. A killed command's
 * temp directory is removed by the next one.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { type ImageSource } from '../plan/image-ref.js';
import { unpackLayer, detectCompression } from './layer-unpack.js';
import { explain, explaining } from './explain.js';
import { identify, isAlive } from './procfs.js';
import { copyImage, ociArch, type CopyOptions } from './skopeo.js';
import { withFileLock, writeFileAtomic } from './state.js';
import { ensurePrivateDir, privateSubdir, requireTrustedDir } from './private-fs.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface OciIndex {
  schemaVersion: 2;
  manifests: Descriptor[];
}
interface OciManifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}
export interface ImageConfigJson {
  created?: string;
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs?: { type: string; diff_ids: string[] };
}

/** One image of the store, as `images` lists it and `run` uses it. */
export interface StoredImage {
  name: string;
  /** the manifest's digest: the image's identity */
  digest: string;
  created?: string | undefined;
  architecture?: string | undefined;
  /** compressed size of the layers and config */
  size: number;
  layers: { digest: string; diffId: string; size: number; mediaType: string }[];
  config: ImageConfigJson;
}

/** What a pull or import reports on the way (only shown on a terminal). */
export type Progress = (line: string, final: boolean) => void;

const hex = (digest: string): string => {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new BarepodError('corrupt', `"${digest}" is not a sha256 digest`);
  return m[1]!;
};

/** sha256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export class ImageStore {
  /** A store another local user could change (its dir or an ancestor writable by them) is refused, even for reading: its layers become root filesystems. */
  constructor(readonly dir: string) {
    if (fs.existsSync(dir)) {
      requireTrustedDir(dir, 'image store');
      if (process.geteuid?.() === 0) privateSubdir(dir); // an older barepod's 0755 store: tightened on first use
    }
  }

  get index(): string {
    return path.join(this.dir, 'index.json');
  }
  blob(digest: string): string {
    return path.join(this.dir, 'blobs', 'sha256', hex(digest));
  }
  /** The unpacked directory of a layer (an overlay lowerdir). */
  layerDir(diffId: string): string {
    return path.join(this.dir, 'layers', hex(diffId));
  }
  get tmpDir(): string {
    return path.join(this.dir, 'tmp');
  }

  /** The index's entries (an empty store has none). */
  entries(): Descriptor[] {
    try {
      return (JSON.parse(fs.readFileSync(this.index, 'utf8')) as OciIndex).manifests ?? [];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new BarepodError('corrupt', `the image store index ${this.index} is unreadable: ${(e as Error).message}`, {
        hint: 'restore it, or remove the store directory and pull again',
        cause: e,
      });
    }
  }

  /** The entry of a normalized name, or of a digest (or a unique prefix of its hex, 12 characters or more). */
  find(nameOrId: string): Descriptor | undefined {
    const all = this.entries();
    const byName = all.find((d) => d.annotations?.[REF_NAME] === nameOrId);
    if (byName) return byName;
    const id = nameOrId.replace(/^sha256:/, '');
    if (/^[0-9a-f]{12,64}$/.test(id)) {
      const hits = all.filter((d) => d.digest.slice('sha256:'.length).startsWith(id));
      if (hits.length === 1) return hits[0];
    }
    return undefined;
  }

  private readJsonBlob<T>(digest: string): T {
    const file = this.blob(digest);
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch {
      throw new BarepodError('corrupt', `blob ${digest} is missing from the image store`, { hint: 'remove the image (barepod rmi) and pull it again' });
    }
    if (`sha256:${createHash('sha256').update(buf).digest('hex')}` !== digest) {
      throw new BarepodError('corrupt', `blob ${digest} in the image store does not match its digest`, {
        hint: 'remove the image (barepod rmi) and pull it again',
      });
    }
    return JSON.parse(buf.toString('utf8')) as T;
  }

  /** Reads an image by its manifest digest (verified). */
  image(digest: string, name = digest): StoredImage {
    const manifest = this.readJsonBlob<OciManifest>(digest);
    const config = this.readJsonBlob<ImageConfigJson>(manifest.config.digest);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length)
      throw new BarepodError('corrupt', `image ${name}: ${manifest.layers.length} layers but ${diffIds.length} diffIDs in its config`);
    return {
      name,
      digest,
      created: config.created,
      architecture: config.architecture,
      size: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
      layers: manifest.layers.map((l, i) => ({ digest: l.digest, diffId: diffIds[i]!, size: l.size, mediaType: l.mediaType })),
      config,
    };
  }

  /** Every named image of the store. */
  list(): StoredImage[] {
    return this.entries().map((d) => this.image(d.digest, d.annotations?.[REF_NAME] ?? d.digest));
  }

  /** Runs `fn` holding the store's lock, after removing what killed commands left in tmp/. */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    // image configs hold env values (ENV lines): the store is root's alone
    ensurePrivateDir(this.dir, 'image store');
    return withFileLock(
      path.join(this.dir, 'lock'),
      `the image store ${this.dir}`,
      async () => {
        this.removeStaleTemps();
        return fn();
      },
      30 * 60_000,
    );
  }

  /** Removes temp directories whose command is gone (killed mid-pull). */
  removeStaleTemps(): void {
    for (const name of fs.existsSync(this.tmpDir) ? fs.readdirSync(this.tmpDir) : []) {
      const [pid, startTime] = name.split('.');
      if (isAlive({ pid: Number(pid), startTime: startTime ?? '' })) continue;
      fs.rmSync(path.join(this.tmpDir, name), { recursive: true, force: true });
    }
  }

  /** A fresh temp directory of this command, removed by `fn`'s end whatever happens. */
  private async withTemp<T>(fn: (tmp: string) => Promise<T>): Promise<T> {
    fs.mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    const me = identify(process.pid);
    const tmp = path.join(this.tmpDir, `${process.pid}.${me?.startTime ?? '0'}.${randomBytes(4).toString('hex')}`);
    fs.mkdirSync(tmp, { mode: 0o700 });
    try {
      return await fn(tmp);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new BarepodError('disk-full', `no space left on the device of the image store ${this.dir}`, {
          hint: 'free some space (barepod rmi unused images) and try again; nothing partial was kept',
          cause: e,
        });
      }
      throw e;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** Pulls an image with skopeo into the store under `src.name`; returns it as stored. */
  async pull(src: ImageSource, o: CopyOptions & { progress?: Progress }): Promise<StoredImage> {
    return this.withTemp(async (tmp) => {
      const layout = path.join(tmp, 'layout');
      o.progress?.(`pulling ${src.name} from ${src.skopeoRef}`, true);
      await copyImage(src.skopeoRef, layout, 'image', src.name, { ...o, showProgress: !!o.progress });
      const [desc] = (JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as OciIndex).manifests;
      if (!desc) throw new BarepodError('corrupt', `skopeo wrote no image for ${src.name}`);
      return this.commit(layout, desc, src.name, o.arch ?? ociArch(), tmp, new Map(), o.progress);
    });
  }

  /**
   * Imports a plain rootfs tarball (e.g. `docker export`; gzip or not) as a
   * one-layer image: the tarball is the layer, unpacked with the same checks.
   */
  async importTar(file: string, name: string, o: { progress?: Progress | undefined; config?: object; changes?: string[] } = {}): Promise<StoredImage> {
    const progress = o.progress;
    if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new BarepodError('not-found', `${file}: no such file`);
    return this.withTemp(async (tmp) => {
      const layout = path.join(tmp, 'layout');
      const blobs = path.join(layout, 'blobs', 'sha256');
      fs.mkdirSync(blobs, { recursive: true });
      const digest = await sha256File(file);
      const layerBlob = path.join(blobs, hex(digest));
      fs.copyFileSync(file, layerBlob);
      const unpacked = path.join(tmp, `layer-${hex(digest).slice(0, 12)}`);
      fs.mkdirSync(unpacked);
      progress?.(`unpacking ${path.basename(file)} (${mb(fs.statSync(file).size)})`, false);
      const res = await unpackLayer(layerBlob, unpacked);
      progress?.(`unpacked ${path.basename(file)}: ${res.entries} entries, ${mb(res.bytes)}`, true);
      for (const w of res.warnings) progress?.(`warning: ${w}`, true);
      const head = Buffer.alloc(4);
      const fd = fs.openSync(layerBlob, 'r');
      fs.readSync(fd, head, 0, 4, 0);
      fs.closeSync(fd);
      const comp = detectCompression(head);
      const now = new Date().toISOString();
      const config: ImageConfigJson & Record<string, unknown> = {
        created: now,
        architecture: ociArch(),
        os: 'linux',
        config: { ...o.config },
        rootfs: { type: 'layers', diff_ids: [res.diffId] },
        history: [
          {
            created: now,
            created_by: `barepod import ${path.basename(file)}${(o.changes ?? []).map((c) => ` --change ${JSON.stringify(c)}`).join('')}`,
          },
        ],
      };
      const put = (data: string): Descriptor => {
        const d = `sha256:${createHash('sha256').update(data).digest('hex')}`;
        fs.writeFileSync(path.join(blobs, hex(d)), data, { mode: 0o600 });
        return { mediaType: '', digest: d, size: Buffer.byteLength(data) };
      };
      const cfg = put(JSON.stringify(config));
      const layerType = `application/vnd.oci.image.layer.v1.tar${comp === 'none' ? '' : `+${comp}`}`;
      const manifest = put(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg.digest, size: cfg.size },
          layers: [{ mediaType: layerType, digest, size: fs.statSync(layerBlob).size }],
        }),
      );
      const desc = { ...manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
      return this.commit(layout, desc, name, ociArch(), tmp, new Map([[res.diffId, unpacked]]), progress);
    });
  }

  /**
   * Moves a verified image from a temp layout into the store: manifest,
   * config and layer blobs checked against their digests, each layer not
   * yet in the store unpacked (its diffID checked), then renamed into place,
   * then the index rewritten: the last step, atomic.
   */
  private async commit(
    layout: string,
    desc: Descriptor,
    name: string,
    arch: string,
    tmp: string,
    unpacked: Map<string, string>,
    progress?: Progress,
  ): Promise<StoredImage> {
    const src = (digest: string) => path.join(layout, 'blobs', 'sha256', hex(digest));
    const verify = async (digest: string, what: string) => {
      const got = await sha256File(src(digest)).catch(() => 'missing');
      if (got !== digest)
        throw new BarepodError('corrupt', `${what} ${digest} of ${name} is corrupt (its content hashes to ${got})`, {
          hint: 'pull again; if it persists, the source itself is broken',
        });
    };
    await verify(desc.digest, 'manifest');
    const manifest = JSON.parse(fs.readFileSync(src(desc.digest), 'utf8')) as OciManifest;
    if (manifest.mediaType && !MANIFEST_TYPES.has(manifest.mediaType))
      throw new BarepodError('corrupt', `${name}: unsupported manifest type ${manifest.mediaType}`);
    await verify(manifest.config.digest, 'config');
    const config = JSON.parse(fs.readFileSync(src(manifest.config.digest), 'utf8')) as ImageConfigJson;
    if ((config.os ?? 'linux') !== 'linux' || (config.architecture && config.architecture !== arch)) {
      throw new BarepodError('invalid-value', `${name} is an image for ${config.os ?? '?'}/${config.architecture ?? '?'}, not linux/${arch}`, {
        hint: `pick another tag, or pull it with --arch ${config.architecture ?? 'ARCH'} if that is really what you want`,
      });
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length)
      throw new BarepodError('corrupt', `${name}: ${manifest.layers.length} layers but ${diffIds.length} diffIDs in its config`);
    for (const [i, l] of manifest.layers.entries()) await verify(l.digest, `layer ${i + 1}/${manifest.layers.length}`);

    return this.locked(async () => {
      for (const [i, l] of manifest.layers.entries()) {
        const diffId = diffIds[i]!;
        const final = this.layerDir(diffId);
        if (fs.existsSync(final)) {
          if (explaining) explain(`layer ${i + 1}/${manifest.layers.length}: already unpacked in ${final} (shared with another image)`);
          continue; // unpacked once per diffID, shared by every image that has it
        }
        if (explaining) explain(`layer ${i + 1}/${manifest.layers.length} ${l.digest}: unpack it into ${final} (an overlay lower dir), its diffID checked`);
        let dir = unpacked.get(diffId);
        if (!dir) {
          dir = path.join(tmp, `layer-${hex(diffId).slice(0, 12)}`);
          fs.mkdirSync(dir);
          const label = `unpacking layer ${i + 1}/${manifest.layers.length} ${l.digest.slice(7, 19)} (${mb(l.size)})`;
          let last = 0;
          const res = await unpackLayer(src(l.digest), dir, {
            verifiedDigest: l.digest, // checked just above
            onBytes: (n) => {
              if (progress && Date.now() - last > 200) {
                last = Date.now();
                progress(`${label}: ${mb(n)} unpacked`, false);
              }
            },
          });
          for (const w of res.warnings) progress?.(`warning: layer ${i + 1}: ${w}`, true);
          progress?.(`${label}: done, ${mb(res.bytes)}`, true);
          if (res.diffId !== diffId) {
            throw new BarepodError('corrupt', `layer ${l.digest} of ${name} unpacks to ${res.diffId}, but its config says ${diffId}`, {
              hint: 'the image is broken: pull it again or rebuild it',
            });
          }
        }
        privateSubdir(path.dirname(final));
        fs.renameSync(dir, final);
      }
      privateSubdir(path.join(this.dir, 'blobs'));
      privateSubdir(path.join(this.dir, 'blobs', 'sha256'));
      for (const d of [...manifest.layers.map((l) => l.digest), manifest.config.digest, desc.digest]) {
        if (!fs.existsSync(this.blob(d))) {
          fs.chmodSync(src(d), 0o600); // skopeo writes 0644; a config blob holds the image's env
          fs.renameSync(src(d), this.blob(d));
        }
      }
      if (!fs.existsSync(path.join(this.dir, 'oci-layout'))) writeFileAtomic(path.join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
      const entry: Descriptor = {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: desc.digest,
        size: desc.size,
        annotations: { [REF_NAME]: name, 'io.barepod.stored': new Date().toISOString() },
      };
      const manifests = [...this.entries().filter((d) => d.annotations?.[REF_NAME] !== name), entry];
      writeFileAtomic(this.index, JSON.stringify({ schemaVersion: 2, manifests } satisfies OciIndex, null, 2) + '\n');
      return this.image(desc.digest, name);
    });
  }

  /**
   * Removes an image's name, then every blob and unpacked layer no remaining
   * image (nor any digest in `keep`, images containers still use) needs.
   * `inUse` is asked under the store's lock.
   */
  async remove(nameOrId: string, inUse: (img: StoredImage) => string[], keep: () => string[]): Promise<StoredImage> {
    return this.locked(async () => {
      const desc = this.find(nameOrId);
      if (!desc) throw new BarepodError('not-found', `image ${nameOrId} is not in the image store`, { hint: 'list images with: barepod images' });
      const img = this.image(desc.digest, desc.annotations?.[REF_NAME] ?? desc.digest);
      const users = inUse(img);
      if (users.length > 0) {
        throw new BarepodError('invalid-state', `image ${img.name} is used by ${users.join(', ')}`, {
          hint: 'remove those containers (barepod rm -f POD NAME) or their pods first',
        });
      }
      const manifests = this.entries().filter((d) => d !== desc && !(d.digest === desc.digest && d.annotations?.[REF_NAME] === desc.annotations?.[REF_NAME]));
      writeFileAtomic(this.index, JSON.stringify({ schemaVersion: 2, manifests } satisfies OciIndex, null, 2) + '\n');
      this.collectGarbage([...manifests.map((d) => d.digest), ...keep()]);
      return img;
    });
  }

  /** Deletes blobs and layer directories that none of `manifestDigests` references. */
  private collectGarbage(manifestDigests: string[]): void {
    const blobs = new Set<string>();
    const layers = new Set<string>();
    for (const m of new Set(manifestDigests)) {
      if (!fs.existsSync(this.blob(m))) continue;
      try {
        const img = this.image(m);
        blobs.add(hex(m));
        const manifest = JSON.parse(fs.readFileSync(this.blob(m), 'utf8')) as OciManifest;
        blobs.add(hex(manifest.config.digest));
        for (const l of img.layers) {
          blobs.add(hex(l.digest));
          layers.add(hex(l.diffId));
        }
      } catch {
        // an unreadable image keeps nothing alive; its own blobs stay until it is removed
        blobs.add(hex(m));
      }
    }
    const blobDir = path.join(this.dir, 'blobs', 'sha256');
    for (const b of fs.existsSync(blobDir) ? fs.readdirSync(blobDir) : []) if (!blobs.has(b)) fs.rmSync(path.join(blobDir, b), { force: true });
    const layerDir = path.join(this.dir, 'layers');
    for (const l of fs.existsSync(layerDir) ? fs.readdirSync(layerDir) : [])
      if (!layers.has(l)) fs.rmSync(path.join(layerDir, l), { recursive: true, force: true });
  }
}

/**
 * Unpacks one image layer (a tar stream, gzip, zstd or plain) into an empty
 * directory that becomes an overlayfs lowerdir, with node-tar's parser and
 * barepod's own writer, because a layer is untrusted input and is not
 * extracted like a host archive:
 * - nothing is ever written outside the directory: absolute paths, `..`,
 *   writing through a symlink (`etc -> /etc` then `etc/passwd`) and
 *   hardlinks to anything outside are refused, and the layer with them;
 * - symlink targets are kept exactly (an absolute target is the container's
 *   path, never followed here);
 * - whiteouts become overlayfs whiteouts: `.wh.NAME` a 0:0 character device,
 *   `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on its directory;
 * - ownership, modes (setuid included), mtimes, hardlinks, device nodes,
 *   FIFOs and text-valued xattrs are kept as root can.
 * Node has no mknod or setxattr: those go to `mknod` (coreutils, via one
 * `xargs`) and `setfattr --restore` (attr), once per layer.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { ReadEntry } from 'tar';
import { BarepodError, hasCode } from '../errors.js';
import { launch } from './exec.js';
import { runTool } from './exec.js';
import { explaining, explainRun } from './explain.js';

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream: the layer's diffID */
  diffId: string;
  /** uncompressed bytes */
  bytes: number;
  entries: number;
  /** what was kept only partly (e.g. a binary xattr node-tar cannot hand over) */
  warnings: string[];
}

export type Compression = 'gzip' | 'zstd' | 'none';

/** The compression of a blob, from its first bytes (media types lie more often than magic numbers). */
export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** A layer entry barepod refuses to write: the error names it and why. */
export function unsafeEntry(entry: string, why: string): BarepodError {
  return new BarepodError('unsafe-layer', `layer entry "${entry}" refused: ${why}; nothing of the layer was kept`, {
    hint: 'the image is malformed or malicious: do not use it',
  });
}

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

interface Node {
  rel: string;
  kind: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  mtime?: Date | undefined;
}

/** Splits an entry path into components, refusing what could leave the layer directory. */
function components(p: string, entry: string): string[] {
  if (p.includes('\0')) throw unsafeEntry(entry, 'a NUL byte in the path');
  if (p.startsWith('/')) throw unsafeEntry(entry, 'an absolute path');
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  if (parts.includes('..')) throw unsafeEntry(entry, "'..' in the path");
  return parts;
}

/** Reads a blob as an uncompressed tar stream. */
/** The compression of a layer blob on disk, from its first bytes. */
function compressionOf(blob: string): Compression {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(blob, 'r');
  try {
    fs.readSync(fd, head, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
  return detectCompression(head);
}

function openTarStream(blob: string): Readable {
  const kind = compressionOf(blob);
  const file = fs.createReadStream(blob, { highWaterMark: 1 << 20 });
  if (kind === 'gzip') {
    const gunzip = zlib.createGunzip({ chunkSize: 1 << 18 });
    file.once('error', (e) => gunzip.destroy(e)); // a pipe does not pass a read error on
    gunzip.once('close', () => file.destroy());
    return file.pipe(gunzip);
  }
  if (kind === 'zstd') {
    // Node 20's zlib has no zstd: the zstd program decompresses (Debian package zstd)
    file.destroy();
    if (explaining) explainRun(`zstd -dcq -- ${blob} | (barepod's tar reader)`);
    const run = launch(['zstd', '-dcq', '--', blob], { stdio: ['ignore', 'pipe', 'pipe'], missingHint: 'apt-get install zstd (or run scripts/setup)' });
    const child = run.child;
    const err: Buffer[] = [];
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    run.exited.then(
      ({ code }) => {
        if (code !== 0 && code !== null)
          child.stdout!.destroy(new BarepodError('corrupt', `zstd could not decompress ${path.basename(blob)}: ${Buffer.concat(err).toString().trim()}`));
      },
      (e: unknown) =>
        child.stdout!.destroy(
          hasCode(e, 'missing-tool')
            ? new BarepodError('missing-tool', 'zstd not found: this layer is zstd-compressed', { hint: 'apt-get install zstd (or run scripts/setup)' })
            : (e as Error),
        ),
    );
    return child.stdout!;
  }
  return file;
}

/**
 * Unpacks `blob` into `dest` (an empty directory of barepod's own) and
 * returns its diffID; throws naming the first refused entry. The caller
 * removes `dest` on failure.
 */
export async function unpackLayer(
  blob: string,
  dest: string,
  opts: {
    onBytes?: (n: number) => void;
    /**
     * the blob's digest, already verified by the caller: an uncompressed blob's
     * diffID is that digest, so it is not hashed a second time
     */
    verifiedDigest?: string;
  } = {},
): Promise<UnpackResult> {
  const root = path.resolve(dest);
  const dirs = new Set<string>(['']); // relative dirs known to be real directories (not symlinks)
  const dirTimes: { rel: string; mtime: Date }[] = [];
  const nodes = new Map<string, Node>(); // by relative path
  const xattrs = new Map<string, Map<string, Buffer>>();
  const warnings: string[] = [];
  let pendingXattrs: Map<string, Buffer> | undefined;
  let failed: unknown;
  let entries = 0;
  let bytes = 0;

  /** Makes sure every parent of `parts` is a real directory inside root (creating missing ones). */
  const ensureDirs = (parts: string[], entry: string, create = true) => {
    let rel = '';
    for (const part of parts) {
      rel = rel ? `${rel}/${part}` : part;
      if (dirs.has(rel)) continue;
      const st = fs.lstatSync(path.join(root, rel), { throwIfNoEntry: false });
      if (!st) {
        if (!create) throw unsafeEntry(entry, `"${rel}" does not exist in the layer`);
        fs.mkdirSync(path.join(root, rel), 0o755);
      } else if (st.isSymbolicLink()) {
        throw unsafeEntry(entry, `it goes through the symbolic link "${rel}"`);
      } else if (!st.isDirectory()) {
        throw unsafeEntry(entry, `"${rel}" is not a directory`);
      }
      dirs.add(rel);
    }
  };
  /** Removes what is at `rel` (a later entry replaces an earlier one), keeping a directory a directory replaces. */
  const clear = (rel: string, keepDir: boolean): boolean => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (st?.isDirectory() && keepDir) return true;
    // what is queued at or below it goes with it: a node, xattr or mtime must never land through what replaces it (a symlink).
    // Only a directory has anything queued below it (a path under `rel` was queued while `rel` was a directory, and only
    // this function removes a directory), so for anything else the path itself is all there is to drop.
    nodes.delete(rel);
    xattrs.delete(rel);
    if (!st) return false;
    if (st.isDirectory()) {
      const under = (r: string) => r === rel || r.startsWith(`${rel}/`);
      for (const k of nodes.keys()) if (under(k)) nodes.delete(k);
      for (const k of xattrs.keys()) if (under(k)) xattrs.delete(k);
      for (let i = dirTimes.length - 1; i >= 0; i--) if (under(dirTimes[i]!.rel)) dirTimes.splice(i, 1);
      fs.rmSync(abs, { recursive: true });
      for (const d of dirs) if (under(d)) dirs.delete(d);
      return false;
    }
    fs.unlinkSync(abs);
    return false;
  };
  /** Checks again, without the cache, that every parent of `rel` is a real directory: the last word before a path goes to mknod, setfattr or utimes. */
  const recheck = (rel: string) => {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const st = fs.lstatSync(path.join(root, ...parts.slice(0, i)), { throwIfNoEntry: false });
      if (!st?.isDirectory() || st.isSymbolicLink()) throw unsafeEntry(rel, `"${parts.slice(0, i).join('/')}" is no longer a directory`);
    }
  };

  const onEntry = (e: ReadEntry) => {
    const xa = pendingXattrs;
    pendingXattrs = undefined;
    if (failed) return void e.resume();
    entries++;
    const entry = e.path;
    try {
      const parts = components(entry, entry);
      const base = parts[parts.length - 1];
      if (base === undefined) return void e.resume(); // the layer's root itself: the lowerdir's own attributes stay
      const parent = parts.slice(0, -1);
      const rel = parts.join('/');
      const abs = path.join(root, rel);
      const uid = e.uid ?? 0;
      const gid = e.gid ?? 0;
      const mode = (e.mode ?? 0o644) & 0o7777;
      if (base.startsWith(WH)) {
        ensureDirs(parent, entry);
        if (base === OPAQUE) {
          const dir = parent.join('/');
          if (dir === '') throw unsafeEntry(entry, 'an opaque marker for the layer root');
          const set = xattrs.get(dir) ?? new Map<string, Buffer>();
          set.set('trusted.overlay.opaque', Buffer.from('y'));
          xattrs.set(dir, set);
        } else if (!base.startsWith(`${WH}${WH}`)) {
          const name = base.slice(WH.length);
          if (name === '' || name === '.' || name === '..') throw unsafeEntry(entry, `a whiteout of "${name}"`);
          const target = [...parent, name].join('/');
          clear(target, false);
          nodes.set(target, { rel: target, kind: 'c', major: 0, minor: 0, mode: 0, uid, gid });
        } // other .wh..wh.* names are aufs bookkeeping: nothing to create
        return void e.resume();
      }
      ensureDirs(parent, entry);
      for (const k of xa?.keys() ?? []) if (k.startsWith('trusted.overlay.')) throw unsafeEntry(entry, `it carries the overlayfs xattr ${k}`);
      const keepXattrs = () => {
        if (xa && xa.size > 0) xattrs.set(rel, xa); // after clear(), which drops what was queued for the path it replaces
      };
      switch (e.type) {
        case 'Directory':
        case 'GNUDumpDir': {
          if (!clear(rel, true)) fs.mkdirSync(abs, 0o700);
          keepXattrs();
          dirs.add(rel);
          fs.chownSync(abs, uid, gid);
          fs.chmodSync(abs, mode);
          if (e.mtime) dirTimes.push({ rel, mtime: e.mtime });
          return void e.resume();
        }
        case 'File':
        case 'OldFile':
        case 'ContiguousFile': {
          clear(rel, false);
          keepXattrs();
          const fd = fs.openSync(abs, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
          e.on('data', (chunk: Buffer) => {
            if (failed) return;
            try {
              let off = 0;
              while (off < chunk.length) off += fs.writeSync(fd, chunk, off);
            } catch (err) {
              failed = err;
            }
          });
          e.on('end', () => {
            try {
              if (!failed) {
                fs.fchownSync(fd, uid, gid);
                fs.fchmodSync(fd, mode); // after chown, which clears setuid/setgid
                if (e.mtime) fs.futimesSync(fd, e.mtime, e.mtime);
              }
            } catch (err) {
              failed ??= err;
            } finally {
              fs.closeSync(fd);
            }
          });
          return;
        }
        case 'SymbolicLink': {
          const target = String(e.linkpath ?? '');
          if (target === '' || target.includes('\0')) throw unsafeEntry(entry, 'an empty or invalid symlink target');
          clear(rel, false);
          keepXattrs();
          fs.symlinkSync(target, abs);
          fs.lchownSync(abs, uid, gid);
          if (e.mtime) fs.lutimesSync(abs, e.mtime, e.mtime);
          return void e.resume();
        }
        case 'Link': {
          const linkpath = String(e.linkpath ?? '');
          const to = components(linkpath, entry);
          if (to.length === 0) throw unsafeEntry(entry, 'a hardlink to the layer root');
          ensureDirs(to.slice(0, -1), entry, false);
          const from = path.join(root, ...to);
          const st = fs.lstatSync(from, { throwIfNoEntry: false });
          if (!st) throw unsafeEntry(entry, `a hardlink to "${linkpath}", which is not in the layer`);
          if (st.isDirectory()) throw unsafeEntry(entry, `a hardlink to the directory "${linkpath}"`);
          if (to.join('/') === rel) return void e.resume();
          clear(rel, false);
          keepXattrs();
          fs.linkSync(from, abs);
          return void e.resume();
        }
        case 'CharacterDevice':
        case 'BlockDevice':
        case 'FIFO': {
          clear(rel, false);
          keepXattrs();
          const kind = e.type === 'FIFO' ? 'p' : e.type === 'BlockDevice' ? 'b' : 'c';
          nodes.set(rel, { rel, kind, major: e.header.devmaj ?? 0, minor: e.header.devmin ?? 0, mode, uid, gid, mtime: e.mtime });
          return void e.resume();
        }
        default:
          warnings.push(`${entry}: entry type ${e.type} skipped`);
          return void e.resume();
      }
    } catch (err) {
      failed = err;
      e.resume();
    }
  };

  const uncompressedDigest = opts.verifiedDigest && compressionOf(blob) === 'none' ? opts.verifiedDigest : undefined;
  const hash = uncompressedDigest ? undefined : createHash('sha256');
  const { Parser } = await import('tar'); // loaded only when a layer is unpacked: every other command starts without it
  const parser = new Parser({ strict: true });
  parser.on('entry', onEntry);
  parser.on('meta', (meta: string) => {
    pendingXattrs = parseXattrs(meta, warnings);
  });
  const corrupt = (err: unknown) =>
    err instanceof BarepodError
      ? err
      : new BarepodError('corrupt', `layer ${path.basename(blob)} is not a valid tar stream: ${(err as Error).message}`, {
          hint: 'pull the image again; if it persists, the image itself is broken',
          cause: err,
        });
  let parseError: unknown;
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('error', (err: unknown) => reject((parseError ??= corrupt(err))));
    parser.on('end', () => resolve());
  });
  parsed.catch(() => undefined); // awaited below, or its error is already in parseError
  const input = openTarStream(blob);
  try {
    // Iterated rather than piped: taking a chunk from the stream starts the next read, so the file is read
    // while the parser and the writer work on this chunk (a pipe reads only after the 'data' handler returns)
    for await (const chunk of input as AsyncIterable<Buffer>) {
      hash?.update(chunk);
      bytes += chunk.length;
      opts.onBytes?.(bytes);
      if (parseError || failed) break;
      if (!parser.write(chunk) && !parseError) await Promise.race([new Promise((r) => parser.once('drain', r)), parsed]);
    }
  } catch (err) {
    throw corrupt(err);
  }
  if (failed) throw failed;
  if (parseError) throw parseError;
  parser.end();
  await parsed;
  if (failed) throw failed;

  for (const n of nodes.values()) recheck(n.rel);
  for (const rel of xattrs.keys()) recheck(rel);
  for (const d of dirTimes) recheck(d.rel);
  await makeNodes(root, [...nodes.values()]);
  for (const n of nodes.values()) {
    fs.lchownSync(path.join(root, n.rel), n.uid, n.gid);
    if (n.mode) fs.chmodSync(path.join(root, n.rel), n.mode); // a device node or FIFO, never a symlink
    if (n.mtime) fs.utimesSync(path.join(root, n.rel), n.mtime, n.mtime);
  }
  await setXattrs(root, xattrs);
  for (const d of dirTimes.reverse()) fs.utimesSync(path.join(root, d.rel), d.mtime, d.mtime);
  if (!hash && !opts.onBytes) bytes = fs.statSync(blob).size; // not counted on the way: an uncompressed blob is its tar stream
  return { diffId: uncompressedDigest ?? `sha256:${hash!.digest('hex')}`, bytes, entries, warnings };
}

/** `SCHILY.xattr.NAME=VALUE` records of a pax header; a value node-tar could not hand over intact is reported, not guessed. */
export function parseXattrs(meta: string, warnings: string[]): Map<string, Buffer> | undefined {
  let out: Map<string, Buffer> | undefined;
  let rest = Buffer.from(meta, 'utf8');
  while (rest.length > 0) {
    const sp = rest.indexOf(0x20);
    const len = Number(rest.subarray(0, sp).toString());
    if (sp < 0 || !Number.isInteger(len) || len <= sp || len > rest.length) break;
    const record = rest.subarray(sp + 1, len - 1);
    rest = rest.subarray(len);
    const eq = record.indexOf(0x3d);
    const key = record.subarray(0, eq).toString();
    if (eq < 0 || !key.startsWith('SCHILY.xattr.')) continue;
    const value = record.subarray(eq + 1);
    const name = key.slice('SCHILY.xattr.'.length);
    if (value.includes(Buffer.from('\ufffd'))) {
      warnings.push(`xattr ${name}: binary value not restored (node-tar passes pax headers as text)`);
      continue;
    }
    (out ??= new Map()).set(name, Buffer.from(value));
  }
  return out;
}

/** Creates device nodes, FIFOs and whiteouts: one xargs, one mknod per node. */
async function makeNodes(root: string, nodes: Node[]): Promise<void> {
  for (const kind of ['c', 'b', 'p'] as const) {
    const list = nodes.filter((n) => n.kind === kind);
    if (list.length === 0) continue;
    const args = list.flatMap((n) => ['-m', '0', `./${n.rel}`, kind, ...(kind === 'p' ? [] : [String(n.major), String(n.minor)])]);
    await runTool(['xargs', '-0', '-n', kind === 'p' ? '4' : '6', 'mknod'], { input: args.join('\0') + '\0', cwd: root });
  }
}

/** Escapes a path for `setfattr --restore` (every byte but a safe few as \ooo). */
const quote = (p: string): string =>
  [...Buffer.from(p)].map((b) => (/[A-Za-z0-9._/+-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`)).join('');

/** Sets every xattr of the layer with one `setfattr --restore`, never following a symlink. */
async function setXattrs(root: string, xattrs: Map<string, Map<string, Buffer>>): Promise<void> {
  if (xattrs.size === 0) return;
  let dump = '';
  for (const [rel, set] of xattrs) {
    dump += `# file: ${quote(`./${rel}`)}\n`;
    for (const [k, v] of set) dump += `${k}=0s${v.toString('base64')}\n`;
    dump += '\n';
  }
  await runTool(['setfattr', '-h', '--restore=-'], { input: dump, cwd: root, hint: 'apt-get install attr (or run scripts/setup)' });
}

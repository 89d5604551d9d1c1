/**
 * Test fixtures for images, built by the tests themselves (no network): raw
 * tar archives (so malicious entries can be written exactly as an attacker
 * would), OCI image layouts, and a real local registry (Debian's
 * docker-registry on 127.0.0.1, a free port, its own storage, stopped after).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { execa, execaSync } from 'execa';
import zlib from 'node:zlib';

export interface TarEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';
  data?: string | Buffer;
  linkpath?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  /** extra pax records (e.g. SCHILY.xattr.user.x) */
  pax?: Record<string, string>;
}

const TYPEFLAG = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function header(name: string, size: number, flag: string, e: Partial<TarEntry>): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  const oct = (n: number, off: number, len: number) => put(n.toString(8).padStart(len - 1, '0') + '\0', off, len);
  put(name.slice(0, 100), 0, 100);
  oct(e.mode ?? (flag === '5' ? 0o755 : 0o644), 100, 8);
  oct(e.uid ?? 0, 108, 8);
  oct(e.gid ?? 0, 116, 8);
  oct(size, 124, 12);
  oct(1700000000, 136, 12);
  h.fill(' ', 148, 156);
  put(flag, 156, 1);
  put((e.linkpath ?? '').slice(0, 100), 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  oct(e.devmajor ?? 0, 329, 8);
  oct(e.devminor ?? 0, 337, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

function paxRecord(k: string, v: string): string {
  const body = ` ${k}=${v}\n`;
  let n = Buffer.byteLength(body) + 1;
  while (String(n).length + Buffer.byteLength(body) !== n) n = String(n).length + Buffer.byteLength(body);
  return `${n}${body}`;
}

/** A tar archive with exactly these entries (names are not cleaned: attacks stay attacks). */
export function tarBuffer(entries: TarEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? (e.path.endsWith('/') ? 'dir' : 'file');
    const data = type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    const pax: Record<string, string> = { ...(e.pax ?? {}) };
    if (Buffer.byteLength(e.path) > 99) pax.path = e.path;
    if ((e.linkpath ?? '').length > 99) pax.linkpath = e.linkpath!;
    if (Object.keys(pax).length > 0) {
      const body = Buffer.from(
        Object.entries(pax)
          .map(([k, v]) => paxRecord(k, v))
          .join(''),
      );
      out.push(header('PaxHeader', body.length, 'x', {}), pad(body));
    }
    out.push(header(e.path, data.length, TYPEFLAG[type], e), pad(data));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/** A tar of a directory made by GNU tar (numeric owners, sorted, stable). */
export function tarDir(dir: string): Buffer {
  const r = execaSync('tar', ['-C', dir, '--numeric-owner', '--sort=name', '--xattrs', '-cf', '-', '.'], {
    encoding: 'buffer',
    maxBuffer: 1 << 30,
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`tar failed: ${Buffer.from(r.stderr).toString()}`);
  return Buffer.from(r.stdout);
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface ImageFixture {
  layers: Buffer[];
  config?: Record<string, unknown>;
  architecture?: string;
  /** diffIDs to write in the config instead of the true ones (a lying image) */
  diffIds?: string[];
}

/** Writes an OCI image layout (gzip layers) with one image tagged `tag`; returns the manifest digest. */
export function writeOciLayout(dir: string, tag: string, img: ImageFixture): string {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer | string) => {
    const d = sha(b);
    fs.writeFileSync(path.join(blobs, d.slice(7)), b);
    return { digest: d, size: Buffer.byteLength(b) };
  };
  const layers = img.layers.map((tar) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(zlib.gzipSync(tar)) }));
  const config = put(
    JSON.stringify({
      created: '2026-01-01T00:00:00Z',
      architecture: img.architecture ?? 'amd64',
      os: 'linux',
      config: img.config ?? {},
      rootfs: { type: 'layers', diff_ids: img.diffIds ?? img.layers.map((l) => sha(l)) },
    }),
  );
  const manifest = put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers,
    }),
  );
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return manifest.digest;
}

/** Writes an OCI layout whose `tag` names an image index (a manifest list) of one image per architecture. */
export function writeOciIndex(dir: string, tag: string, images: (ImageFixture & { architecture: string })[]): void {
  const manifests = images.map((img, i) => {
    const sub = path.join(dir, `.sub${i}`);
    const digest = writeOciLayout(sub, 'x', img);
    fs.cpSync(path.join(sub, 'blobs'), path.join(dir, 'blobs'), { recursive: true });
    const size = fs.statSync(path.join(sub, 'blobs', 'sha256', digest.slice(7))).size;
    fs.rmSync(sub, { recursive: true });
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size, platform: { architecture: img.architecture, os: 'linux' } };
  });
  const index = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
  const d = sha(index);
  fs.writeFileSync(path.join(dir, 'blobs', 'sha256', d.slice(7)), index);
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          digest: d,
          size: Buffer.byteLength(index),
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
}

/** sha256 digest of a buffer, as OCI writes it. */
export const digestOf = sha;

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .once('error', () => resolve(0));
  });
}

export interface Registry {
  /** host:port */
  host: string;
  stop(): Promise<void>;
}

/** Starts Debian's docker-registry on 127.0.0.1 with its own storage under `dir`; stop() kills it and waits. */
export async function startRegistry(dir: string): Promise<Registry> {
  const port = await freePort();
  fs.mkdirSync(path.join(dir, 'storage'), { recursive: true });
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  // never rejected: a registry that dies early is told by `ended`, its stderr by the result
  const child = execa('docker-registry', ['serve', config], { stdin: 'ignore', stdout: 'ignore', reject: false });
  let ended = false;
  void child.finally(() => (ended = true));
  const stop = async () => {
    child.kill('SIGTERM');
    await child;
  };
  for (let i = 0; i < 200; i++) {
    if ((await get(`http://127.0.0.1:${port}/v2/`)) === 200) return { host: `127.0.0.1:${port}`, stop };
    if (ended) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`docker-registry did not start: ${(await child).stderr}`);
}

/** An HTTP server on 127.0.0.1 that answers every request 401 with a Basic challenge: a registry that wants credentials. */
export async function startAuthWall(): Promise<{ host: string; stop(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(401, {
      'WWW-Authenticate': 'Basic realm="barepod-test"',
      'Docker-Distribution-Api-Version': 'registry/2.0',
      'Content-Type': 'application/json',
    });
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return { host: `127.0.0.1:${port}`, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

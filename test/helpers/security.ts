/**
 * What the security tests share: they are judged on the host, so "untouched"
 * must mean one thing everywhere (a directory's own mtime and each entry's
 * type, mode, size, mtime and content), and hostile images and manifests are
 * made the same way.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestEnv } from './harness.js';
import { tarBuffer, tarDir, writeOciLayout, type TarEntry } from './image-fixtures.js';

/** nobody:nogroup's uid and gid. */
export const NOBODY = 65534;

/** Runs a system program as nobody:nogroup with no supplementary groups (nothing from the repo: it may be 0700 under /root). */
export function asNobody(argv: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv], { cwd: '/', encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every regular file under `top` (as root) whose content holds `needle`. */
export function filesHolding(top: string, needle: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        // a mounted rootfs or /dev/shm is the container's, not barepod's files
        if (!spawnSync('mountpoint', ['-q', p]).status) continue;
        walk(p);
      } else if (e.isFile()) {
        try {
          if (fs.readFileSync(p).includes(needle)) out.push(p);
        } catch {
          // a fifo-like or vanished file
        }
      }
    }
  };
  walk(top);
  return out;
}

/** The built-in busybox rootfs, the base layer of every hostile image. */
export const BUSYBOX = '/var/lib/barepod/builtin/busybox/rootfs';

/** A directory's own mtime and, per entry, its type, mode, size, mtime and content (links: target): what "untouched" means. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = { '.': `${fs.statSync(dir).mtimeMs}` };
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    const body = st.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : st.isFile() ? fs.readFileSync(p, 'utf8') : '';
    out[name] = `${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${body}`;
  }
  return out;
}

/** Writes a manifest of one pod (`body` is its spec, indented) into the test's root; returns its path. */
export function podManifest(t: TestEnv, name: string, body: string): string {
  const file = path.join(t.root, `${name}.yaml`);
  fs.writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${body}`);
  return file;
}

/** Stores an image of busybox plus one layer of `top` entries (and this config) as NAME:1, laid out under `dir`. */
export async function hostileImage(
  t: TestEnv,
  dir: string,
  name: string,
  top: TarEntry[],
  config: Record<string, unknown> = { Cmd: ['sleep', '3600'] },
): Promise<string> {
  const layout = path.join(dir, `layout-${name}`);
  writeOciLayout(layout, 'v1', { layers: [tarDir(BUSYBOX), ...(top.length ? [tarBuffer(top)] : [])], config });
  await t.ok(['pull', `oci:${layout}:v1`, '--name', `${name}:1`]);
  return `${name}:1`;
}

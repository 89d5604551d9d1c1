import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import { cgroupRootFor, DEFAULT_STATE_ROOT } from '../plan/paths.js';

/** Where barepod keeps things; every path can be moved (tests use their own state root). */
export interface Settings {
  /** runtime state: pods, runc state, exit files (tmpfs, gone at reboot) */
  stateRoot: string;
  /** what survives reboots: built-in images, the pause rootfs */
  dataDir: string;
  /** the image store (an OCI layout plus unpacked layers): BAREPOD_IMAGES, else <dataDir>/images */
  imagesDir: string;
  /** the top-level cgroup directory every pod parent of this state root lives under (see cgroupRootFor) */
  cgroupRoot: string;
}

/** A path with its existing part resolved through symlinks (the rest may not exist yet). */
export function realPathOf(p: string): string {
  const abs = path.resolve(p);
  try {
    // realpath(3) in one call (the JS realpathSync lstats every component, and its code is compiled at each call's start)
    return fs.realpathSync.native(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realPathOf(parent), path.basename(abs));
  }
}

/** Settings from flags, then environment (BAREPOD_ROOT, BAREPOD_DATA, BAREPOD_IMAGES), then defaults. */
export function resolveSettings(flags: { root?: string | undefined } = {}): Settings {
  const env = process.env;
  const dataDir = path.resolve(env.BAREPOD_DATA ?? '/var/lib/barepod');
  const stateRoot = path.resolve(flags.root ?? env.BAREPOD_ROOT ?? DEFAULT_STATE_ROOT);
  let cgroupRoot: string | undefined;
  return {
    stateRoot,
    dataDir,
    imagesDir: path.resolve(env.BAREPOD_IMAGES || path.join(dataDir, 'images')),
    // worked out when first read (two realpaths and a sha256, ~0.7 ms of a call's start): ps, pod ls and inspect
    // never need it; the default root (also as /var/run/barepod) keeps /barepod/<pod>, any other root has a top dir
    // of its own
    get cgroupRoot() {
      return (cgroupRoot ??= cgroupRootOfStateRoot(stateRoot));
    },
  };
}

/** The top cgroup directory of a state root's pods (cgroupRootFor), judged by the root's real path. */
export function cgroupRootOfStateRoot(stateRoot: string): string {
  const real = realPathOf(stateRoot);
  return cgroupRootFor(real === realPathOf(DEFAULT_STATE_ROOT) ? DEFAULT_STATE_ROOT : real);
}

/**
 * A directory of the data dir that holds things named by pods or users
 * (stored manifests, ConfigMaps, Secrets, named volumes): `<dataDir>/<kind>`
 * for the default state root, `<dataDir>/<kind>/<cgroup root>` for any other
 * root, so two roots never share a name.
 */
export function ownDataDir(settings: Pick<Settings, 'dataDir' | 'cgroupRoot'>, kind: string): string {
  const own = settings.cgroupRoot === 'barepod' ? undefined : settings.cgroupRoot;
  return path.join(settings.dataDir, kind, ...(own ? [own] : []));
}

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

/** Finds an executable on PATH (and the sbin directories root's PATH may lack); an env var may name it directly. */
export function findBinary(name: string, envVar?: string): string | undefined {
  const forced = envVar ? process.env[envVar] : undefined;
  if (forced) return isExecutable(forced) ? forced : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN_DIRS];
  for (const d of dirs) {
    const p = path.join(d, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The Debian package that provides each tool barepod drives. */
export const PACKAGE_OF: Record<string, string> = {
  runc: 'runc',
  conmon: 'conmon',
  skopeo: 'skopeo',
  setfattr: 'attr',
  zstd: 'zstd',
  mount: 'mount',
  umount: 'mount',
};

/** Finds a required tool or fails naming the fix. */
export function requireBinary(name: string, envVar?: string): string {
  const found = findBinary(name, envVar);
  if (!found) {
    throw new BarepodError('missing-tool', `${name} not found${envVar && process.env[envVar] ? ` at ${process.env[envVar]} (${envVar})` : ''}`, {
      hint: `run scripts/setup, or: apt-get install ${PACKAGE_OF[name] ?? name}`,
    });
  }
  return found;
}

/** barepod drives namespaces, cgroups and mounts: it must run as root. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new BarepodError('not-root', 'barepod must run as root (it creates namespaces, cgroups and mounts)', {
      hint: 'run it with sudo',
    });
  }
}

/**
 * The host's device nodes, read for a container at each start: one asked
 * for (`--device`, a hostPath device volume), or all of them for a
 * privileged container (containerd's HostDevices).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BarepodError } from '../errors.js';
import type { ContainerDefinition, PodDefinition } from '../model.js';
import type { DeviceGrant } from '../oci/options.js';
import type { LinuxDevice } from '../oci/types.js';
import { deviceRequests } from '../plan/devices.js';

/** major and minor of a dev_t as Linux encodes it (glibc's gnu_dev_major/minor). */
export const devMajor = (rdev: number): number => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
export const devMinor = (rdev: number): number => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

/** A device node's description for linux.devices, made at `at`; undefined when `st` is no character or block device. */
export function deviceOf(st: fs.Stats, at: string): LinuxDevice | undefined {
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return { path: at, type, major: devMajor(st.rdev), minor: devMinor(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/**
 * The device node at a host path, described for `containerPath`; `what`
 * starts the error message (`volume "tun": hostPath`, `… --device`). The path
 * itself must be the node: a symlink is refused, wherever it points (a link
 * someone else can change would decide which device a container gets), as
 * is a path through a symlinked directory, a missing path, and anything
 * that is not a character or block device.
 */
export function hostDevice(hostPath: string, containerPath: string, what: string, hint?: string): LinuxDevice {
  const fail = (why: string, extraHint?: string) =>
    new BarepodError('invalid-value', `${what} ${hostPath} ${why}`, {
      hint: extraHint ?? hint ?? 'give the path of a character or block device node on the host',
    });
  const st = fs.lstatSync(hostPath, { throwIfNoEntry: false });
  if (!st) throw fail('does not exist');
  if (st.isSymbolicLink()) {
    let target = fs.readlinkSync(hostPath);
    try {
      target = fs.realpathSync(hostPath);
    } catch {
      /* a dangling link: its text says enough */
    }
    throw fail(
      `is a symbolic link (to ${target}), not a device node`,
      `give the device itself${target.startsWith('/') ? ` (${target})` : ''}: barepod does not follow links to devices`,
    );
  }
  const real = fs.realpathSync(hostPath);
  if (real !== hostPath) throw fail(`goes through a symbolic link (it is ${real}), not a device node`, `give the device itself: ${real}`);
  const dev = deviceOf(st, containerPath);
  if (!dev) throw fail(`is not a device node (it is ${kindOf(st)})`);
  return dev;
}

function kindOf(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isFIFO()) return 'a FIFO';
  return 'not a device';
}

/** Directories of /dev that are no device list of the host's (containerd's getDevices skips the same). */
const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/**
 * Every character and block device under /dev, at the same paths, as
 * containerd's HostDevices lists them for a privileged container: links,
 * FIFOs, /dev/console and the pts, shm, mqueue directories left out.
 */
export function hostDevices(dir = '/dev', at = '/dev'): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out; // gone meanwhile, or not readable
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) out.push(...hostDevices(p, path.posix.join(at, e.name)));
      continue;
    }
    if (e.name === 'console' || (!e.isCharacterDevice() && !e.isBlockDevice())) continue;
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    const dev = st && deviceOf(st, path.posix.join(at, e.name));
    if (dev) out.push(dev);
  }
  return out;
}

/**
 * The device nodes a container gets at this start: each one it asks for
 * (deviceRequests: `--device`, hostPath device volumes), read from the host
 * now; a privileged container gets every host device too (its own requests
 * win at the same path), with every device allowed by its spec.
 */
export function containerDevices(pod: Pick<PodDefinition, 'name' | 'volumes'>, ctr: ContainerDefinition): DeviceGrant[] {
  const grants = deviceRequests(pod, ctr).map((d) => {
    const what = `pod "${pod.name}", container "${ctr.name}": ${d.kind ? `${d.from}: hostPath` : '--device'}`;
    const device = hostDevice(d.hostPath, d.containerPath, what);
    // the volume's type is checked at `up`; the node may have changed since (a restart, a recreated sandbox)
    if (d.kind && device.type !== d.kind)
      throw new BarepodError(
        'invalid-value',
        `${what} ${d.hostPath} is now a ${device.type === 'c' ? 'character' : 'block'} device, not a ${d.kind === 'c' ? 'CharDevice' : 'BlockDevice'}`,
        {
          hint: "fix the host, or the volume's hostPath.type",
        },
      );
    return { device, access: d.access };
  });
  if (!ctr.security?.privileged) return grants;
  const asked = new Set(grants.map((g) => g.device.path));
  return [
    ...hostDevices()
      .filter((d) => !asked.has(d.path))
      .map((device) => ({ device, access: 'rwm' })),
    ...grants,
  ];
}

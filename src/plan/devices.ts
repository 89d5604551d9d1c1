/**
 * Host devices in a container, pure: what a container asks for (`run
 * --device`, a manifest's hostPath volume of type CharDevice/BlockDevice),
 * checked and put in one list. Reading the host's nodes is
 * runtime/devices.ts's; the spec option is oci/options.ts's withDevices.
 *
 * A device is never a bind mount: runc creates the node (linux.devices) in
 * the container's own /dev tmpfs with the host node's type and numbers, and
 * the devices cgroup (v1) or runc's eBPF program (v2) lets the container use
 * exactly that major:minor with the access asked for. A container that asks
 * for none gets none (the default nodes of every container aside).
 */
import path from 'node:path';
import { BarepodError } from '../errors.js';
import type { ContainerDefinition, DeviceRequest, PodDefinition, VolumeMount } from '../model.js';

/** Where a device may be made in a container: below /dev, outside the runtime's own mounts there. */
const RUNTIME_DEV_MOUNTS = ['/dev/pts', '/dev/shm', '/dev/mqueue'];

/** The default access of `--device` (as Docker's and podman's): read, write, mknod. */
export const DEFAULT_DEVICE_ACCESS = 'rwm';

/** Whether a hostPath type makes a device (rather than a bind mount). */
export const isDeviceType = (type: string): type is 'CharDevice' | 'BlockDevice' => type === 'CharDevice' || type === 'BlockDevice';

/**
 * Why a container path cannot hold a device node, or undefined when it can:
 * an absolute, normalised path below /dev, outside /dev/pts, /dev/shm and
 * /dev/mqueue. The node lands in the container's /dev tmpfs, never in the
 * image's files or a host directory.
 */
export function deviceDestinationProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'must be an absolute path';
  if (path.posix.normalize(p) !== p || p.endsWith('/')) return 'must be a normalised path (no "..", ".", "//" or trailing "/")';
  if (!p.startsWith('/dev/')) return "must be below /dev (devices are made in the container's /dev, never in its image's files)";
  const under = RUNTIME_DEV_MOUNTS.find((m) => p === m || p.startsWith(`${m}/`));
  if (under) return `is in ${under}, which the runtime mounts itself`;
  return undefined;
}

/** Whether an access string is a non-empty combination of r, w and m, each at most once. */
const validAccess = (a: string): boolean => /^[rwm]{1,3}$/.test(a) && new Set(a).size === a.length;

/**
 * `--device HOST[:CONTAINER][:PERMISSIONS]`, as podman and Docker read it:
 * the container path defaults to the host's, the permissions (r, w, m) to rwm.
 */
export function parseDeviceFlag(text: string): DeviceRequest {
  const flag = `--device "${text}"`;
  const parts = text.split(':');
  if (parts.length > 3 || parts.some((p) => p === ''))
    throw new BarepodError('invalid-value', `${flag}: must be HOST[:CONTAINER][:PERMISSIONS]`, {
      hint: 'e.g. --device /dev/net/tun or --device /dev/fuse:/dev/fuse:rw',
    });
  const [host, second, third] = parts as [string, string | undefined, string | undefined];
  let container = host;
  let access = DEFAULT_DEVICE_ACCESS;
  if (third !== undefined) {
    container = second!;
    access = third;
  } else if (second !== undefined) {
    if (second.startsWith('/')) container = second;
    else access = second;
  }
  if (!host.startsWith('/') || path.posix.normalize(host) !== host)
    throw new BarepodError('invalid-value', `${flag}: the host device "${host}" must be an absolute, normalised path`);
  if (!validAccess(access)) throw new BarepodError('invalid-value', `${flag}: permissions "${access}" must combine r, w and m (e.g. rwm, rw, r)`);
  const why = deviceDestinationProblem(container);
  if (why) throw new BarepodError('invalid-value', `${flag}: the container path "${container}" ${why}`);
  return { hostPath: host, containerPath: container, access };
}

/** A requested device with where it was asked for, for error messages. */
export interface DeviceAsked extends DeviceRequest {
  /** `--device /dev/net/tun`, `volume "tun"` */
  from: string;
  /** the kind of node a volume's type asks for (CharDevice: c, BlockDevice: b); `--device` takes either */
  kind?: 'c' | 'b';
}

/** Whether a volume mount of the container is a device (a hostPath volume of type CharDevice or BlockDevice). */
export function isDeviceMount(pod: Pick<PodDefinition, 'volumes'>, m: VolumeMount): boolean {
  const v = pod.volumes?.find((x) => x.name === m.name);
  return v?.kind === 'hostPath' && isDeviceType(v.type);
}

/**
 * Every device a container asks for, in one list: its `--device`s, then its
 * volume mounts of hostPath devices (readOnly: read access only, else read
 * and write; never mknod, which a bind mount would not give either). A
 * device path twice, or a device at or below one of the container's other
 * volume mounts (runc would make the node in that host directory), is
 * refused.
 */
export function deviceRequests(pod: Pick<PodDefinition, 'name' | 'volumes'>, ctr: Pick<ContainerDefinition, 'name' | 'devices' | 'mounts'>): DeviceAsked[] {
  const out: DeviceAsked[] = (ctr.devices ?? []).map((d) => ({ ...d, from: `--device ${d.hostPath}` }));
  const mounts = ctr.mounts ?? [];
  for (const m of mounts) {
    if (!isDeviceMount(pod, m)) continue;
    const v = pod.volumes!.find((x) => x.name === m.name)!;
    if (v.kind !== 'hostPath') continue;
    // a manifest says so at parse time, field by field; `run -v /dev/x:CTR` (a hostPath volume of the host's type) meets it here
    const why = deviceDestinationProblem(m.mountPath) ?? (m.subPath ? 'is a subPath of a device volume (a device has none)' : undefined);
    if (why)
      throw new BarepodError(
        'invalid-value',
        `pod "${pod.name}", container "${ctr.name}": device ${v.path} (volume "${m.name}") at ${m.mountPath}: the container path ${why}`,
        {
          hint: "a host device is made as a node below the container's /dev: mount it there (e.g. -v /dev/net/tun:/dev/net/tun, or --device)",
        },
      );
    out.push({
      hostPath: v.path,
      containerPath: m.mountPath,
      access: m.readOnly ? 'r' : 'rw',
      from: `volume "${m.name}"`,
      kind: v.type === 'BlockDevice' ? 'b' : 'c',
    });
  }
  const where = `pod "${pod.name}", container "${ctr.name}"`;
  const seen = new Set<string>();
  for (const d of out) {
    if (seen.has(d.containerPath))
      throw new BarepodError('invalid-value', `${where}: ${d.from}: ${d.containerPath} is asked for twice`, {
        hint: 'give each device its own container path',
      });
    seen.add(d.containerPath);
    const below = mounts.find(
      (m) => !isDeviceMount(pod, m) && (d.containerPath === m.mountPath || d.containerPath.startsWith(`${m.mountPath.replace(/\/$/, '')}/`)),
    );
    if (below)
      throw new BarepodError('invalid-value', `${where}: ${d.from}: ${d.containerPath} is inside volume "${below.name}" mounted at ${below.mountPath}`, {
        hint: 'runc would make the device node in that volume: mount the volume elsewhere, or the device at another path',
      });
  }
  return out;
}

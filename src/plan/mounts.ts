/**
 * A container's mounts as the CLI writes them (`run -v`, `--mount`,
 * `--tmpfs`; `pod create -v`) made into what a manifest says: pod volumes
 * (hostPath, emptyDir) and the container's volumeMounts. Pure: the host's
 * facts (what is at a HOSTDIR) are passed in. The checks a manifest's
 * mounts get (plan, launch: subPath resolution, nested mount points, the
 * volume kinds' preparation) are then the same code for both.
 */
import { BarepodError } from '../errors.js';
import type { ContainerKind, HostPathType, PodDefinition, VolumeDefinition, VolumeMount } from '../model.js';
import { isValidName } from '../names.js';
import { parseBytes } from '../quantity.js';
import { memberKind } from './members.js';

/** Where a requested mount comes from. */
export type MountSource =
  /** a host path (`-v /srv/data:/data`, `--mount type=bind,source=/srv/data`): a hostPath volume of its own */
  | { kind: 'host'; path: string }
  /** a volume of the pod by name (`-v data:/data`, `--mount type=volume,source=data`) */
  | { kind: 'volume'; name: string }
  /** a tmpfs of its own (`--tmpfs /run`, `--mount type=tmpfs`): an emptyDir of medium Memory */
  | { kind: 'tmpfs'; sizeLimitBytes?: number };

/** One mount as a flag asked for it. */
export interface MountRequest {
  source: MountSource;
  mountPath: string;
  readOnly: boolean;
  subPath?: string;
  /** the flag as typed, for errors */
  flag: string;
}

const usage = (flag: string, why: string, hint: string) => new BarepodError('invalid-value', `${flag}: ${why}`, { hint });

const V_HINT = 'write -v HOSTDIR:CTRDIR[:ro] (HOSTDIR absolute) or -v VOLUME:CTRDIR[:ro] (a volume of the pod, made with pod create -v VOLUME)';

/** The container side of a mount: an absolute path, no "..", nothing but a path. */
function checkTarget(flag: string, p: string): string {
  if (!p.startsWith('/')) throw usage(flag, `the container path "${p}" must be absolute`, V_HINT);
  if (p.split('/').includes('..')) throw usage(flag, `the container path "${p}" must not contain ".."`, V_HINT);
  if (/[\0\n]/.test(p)) throw usage(flag, 'the container path has a NUL or newline', V_HINT);
  const clean = p.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  if (clean === '/') throw usage(flag, 'cannot mount over the container\'s "/"', V_HINT);
  return clean;
}

/** The source side: an absolute host path, or the name of a pod volume; a relative path is refused (podman resolves it against the working directory: say it instead). */
function parseSource(flag: string, s: string): MountSource {
  if (s.startsWith('/')) {
    if (/[\0\n]/.test(s)) throw usage(flag, 'the host path has a NUL or newline', V_HINT);
    if (s.split('/').includes('..')) throw usage(flag, `the host path "${s}" must not contain ".."`, 'name the directory itself');
    return { kind: 'host', path: s.replace(/\/+/g, '/').replace(/(.)\/$/, '$1') };
  }
  if (s.startsWith('.') || s.includes('/') || s === '~' || s.startsWith('~/')) {
    throw usage(
      flag,
      `"${s}" is a relative host path: barepod takes only absolute ones`,
      `write the absolute path, e.g. -v "$PWD/${s.replace(/^\.\//, '')}:..."`,
    );
  }
  if (!isValidName(s)) throw usage(flag, `"${s}" is neither an absolute host path nor a volume name (a DNS-1123 label)`, V_HINT);
  return { kind: 'volume', name: s };
}

/** `-v SRC:CTRDIR[:OPTS]` (podman/docker): OPTS is a comma list of ro or rw. */
export function parseVolumeFlag(text: string): MountRequest {
  const flag = `-v "${text}"`;
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === ''))
    throw usage(flag, 'expected SOURCE:CTRDIR[:ro] (a volume without a source, as podman makes anonymous ones, is not supported)', V_HINT);
  const [src, target, opts] = parts as [string, string, string | undefined];
  let readOnly = false;
  for (const o of opts?.split(',') ?? []) {
    if (o === 'ro') readOnly = true;
    else if (o === 'rw') readOnly = false;
    else throw usage(flag, `option "${o}" is not supported (ro and rw are)`, V_HINT);
  }
  return { source: parseSource(flag, src), mountPath: checkTarget(flag, target), readOnly, flag };
}

/** `--tmpfs CTRDIR[:size=N,ro]` (podman/docker): an emptyDir of medium Memory mounted there. */
export function parseTmpfsFlag(text: string): MountRequest {
  const flag = `--tmpfs "${text}"`;
  const colon = text.indexOf(':');
  const target = colon < 0 ? text : text.slice(0, colon);
  const opts = colon < 0 ? [] : text.slice(colon + 1).split(',');
  let readOnly = false;
  let size: number | undefined;
  const hint = 'write --tmpfs CTRDIR[:size=64Mi] (size in bytes or a Kubernetes quantity; ro, rw)';
  for (const o of opts) {
    if (o === 'ro') readOnly = true;
    else if (o === 'rw') readOnly = false;
    else if (o.startsWith('size=')) size = tmpfsSize(flag, o.slice(5));
    else
      throw usage(flag, `option "${o}" is not supported (size=, ro and rw are; a tmpfs here is an emptyDir of medium Memory: mode 0777, exec allowed)`, hint);
  }
  return { source: { kind: 'tmpfs', ...(size !== undefined ? { sizeLimitBytes: size } : {}) }, mountPath: checkTarget(flag, target), readOnly, flag };
}

/** A tmpfs size: a Kubernetes quantity (64Mi), or docker's 64m / 1g. */
function tmpfsSize(flag: string, text: string): number {
  const docker = /^(\d+)([kmg])$/.exec(text);
  const q = docker ? `${docker[1]}${docker[2]!.toUpperCase()}i` : text;
  const bytes = parseBytes(q, flag);
  if (bytes <= 0) throw usage(flag, 'size must be more than 0', 'e.g. size=64Mi');
  return bytes;
}

/**
 * `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,subpath=…][,tmpfs-size=…]`
 * (podman/docker): src and dst/destination are synonyms, ro=true|false too.
 */
export function parseMountFlag(text: string): MountRequest {
  const flag = `--mount "${text}"`;
  const hint =
    'write --mount type=bind,source=/HOSTDIR,target=/CTRDIR[,readonly], type=volume,source=VOLUME,target=/CTRDIR[,subpath=DIR][,readonly] or type=tmpfs,target=/CTRDIR[,tmpfs-size=64Mi]';
  const kv: Record<string, string> = {};
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    const k = (eq < 0 ? item : item.slice(0, eq)).trim();
    const v = eq < 0 ? 'true' : item.slice(eq + 1);
    const key = { src: 'source', dst: 'target', destination: 'target', ro: 'readonly' }[k] ?? k;
    if (!['type', 'source', 'target', 'readonly', 'subpath', 'tmpfs-size'].includes(key)) throw usage(flag, `"${k}" is not supported`, hint);
    if (key in kv) throw usage(flag, `"${key}" is given twice`, hint);
    kv[key] = v;
  }
  const type = kv.type ?? 'volume';
  if (kv.target === undefined) throw usage(flag, 'target= is required', hint);
  if (kv.readonly !== undefined && kv.readonly !== 'true' && kv.readonly !== 'false')
    throw usage(flag, `readonly="${kv.readonly}": must be true or false`, hint);
  const readOnly = kv.readonly === 'true';
  const mountPath = checkTarget(flag, kv.target);
  if (type === 'tmpfs') {
    if (kv.source !== undefined || kv.subpath !== undefined) throw usage(flag, 'a tmpfs takes no source or subpath', hint);
    const size = kv['tmpfs-size'] === undefined ? undefined : tmpfsSize(flag, kv['tmpfs-size']);
    return { source: { kind: 'tmpfs', ...(size !== undefined ? { sizeLimitBytes: size } : {}) }, mountPath, readOnly, flag };
  }
  if (type !== 'bind' && type !== 'volume') throw usage(flag, `type "${type}" is not supported (bind, volume and tmpfs are)`, hint);
  if (kv['tmpfs-size'] !== undefined) throw usage(flag, 'tmpfs-size is for type=tmpfs', hint);
  if (kv.source === undefined) throw usage(flag, 'source= is required', hint);
  const source = parseSource(flag, kv.source);
  if (type === 'bind' && source.kind !== 'host') throw usage(flag, `type=bind needs an absolute host path, not "${kv.source}"`, hint);
  if (type === 'volume' && source.kind !== 'volume')
    throw usage(flag, `type=volume needs the name of a pod volume, not "${kv.source}" (type=bind binds a host path)`, hint);
  const req: MountRequest = { source, mountPath, readOnly, flag };
  if (kv.subpath !== undefined) {
    if (type !== 'volume') throw usage(flag, 'subpath is for type=volume (for a host path, name the directory itself)', hint);
    if (kv.subpath === '' || kv.subpath.startsWith('/') || kv.subpath.split('/').includes('..'))
      throw usage(flag, `subpath "${kv.subpath}" must be a relative path without ".."`, hint);
    req.subPath = kv.subpath;
  }
  return req;
}

/**
 * `pod create -v NAME[:CTRDIR][:OPTS]`: a pod volume (an emptyDir; with
 * OPTS `tmpfs` or `size=N` one of medium Memory, capped), and optionally
 * where every container run in the pod mounts it (OPTS `ro` read-only).
 */
export function parsePodVolumeFlag(text: string): { volume: VolumeDefinition; mount?: VolumeMount } {
  const flag = `-v "${text}"`;
  const hint =
    'write -v NAME (a volume of the pod; containers mount it with run -v NAME:CTRDIR), -v NAME:CTRDIR[:ro] (every container of the pod mounts it there), and tmpfs or size=64Mi among the options for a tmpfs (-v NAME:tmpfs,size=64Mi)';
  const parts = text.split(':');
  const name = parts[0] ?? '';
  if (name.startsWith('/') || name.startsWith('.'))
    throw usage(flag, 'a pod volume is named, not a host path: bind host paths per container (run -v HOSTDIR:CTRDIR)', hint);
  if (!isValidName(name)) throw usage(flag, `"${name}" is not a volume name (a DNS-1123 label)`, hint);
  if (parts.length > 3 || parts.slice(1).some((p) => p === '')) throw usage(flag, 'expected NAME[:CTRDIR][:OPTIONS]', hint);
  // the second part is the container path when it is one (absolute), else the options
  const target = parts[1]?.startsWith('/') ? parts[1] : undefined;
  const optText = target === undefined ? parts[1] : parts[2];
  if (target === undefined && parts.length === 3) throw usage(flag, `the container path "${parts[1]}" must be absolute`, hint);
  let readOnly = false;
  let memory = false;
  let size: number | undefined;
  for (const o of optText?.split(',') ?? []) {
    if (o === 'ro') readOnly = true;
    else if (o === 'rw') readOnly = false;
    else if (o === 'tmpfs') memory = true;
    else if (o.startsWith('size=')) {
      memory = true;
      size = tmpfsSize(flag, o.slice(5));
    } else throw usage(flag, `option "${o}" is not supported (ro, rw, tmpfs and size= are)`, hint);
  }
  if (readOnly && target === undefined) throw usage(flag, 'ro needs the container path it applies to (NAME:CTRDIR:ro)', hint);
  const volume: VolumeDefinition = memory
    ? { kind: 'emptyDir', name, medium: 'Memory', ...(size !== undefined ? { sizeLimitBytes: size } : {}) }
    : { kind: 'emptyDir', name, medium: '' };
  if (target === undefined) return { volume };
  return { volume, mount: { name, mountPath: checkTarget(flag, target), readOnly } };
}

/** What is at a host path: its hostPath type, its path with every symlink resolved, and each of its ancestors' (the path as named, then up to `/`). */
export interface HostPathFacts {
  type: HostPathType;
  real: string;
  /** the path and each ancestor as named (longest first), with its real path: a link a container planted below a volume is never taken for the user's */
  prefixes: { path: string; real: string }[];
}

/**
 * A container's mounts from its requests, on top of the mounts every
 * container of the pod gets (pod create -v NAME:CTRDIR; one of the
 * container's own at the same path wins): new volumes for host paths and
 * tmpfs (named `<container>-<n>`, a name the pod does not use yet), mounts
 * of the pod's volumes by name. `host` says what is at a host path (a
 * nonexistent one is refused: barepod does not create it).
 *
 * A host path at or inside a hostPath volume the pod has (or this run
 * makes) is mounted as a subPath of that volume: resolved inside it at every
 * start, so a link a container made there (it can write the outer one) is
 * never followed out, as a manifest's subPath is not. A new read-write host
 * path that holds an existing hostPath volume is refused: a container
 * writing it could redirect that volume's next mount.
 */
export function attachMounts(
  pod: Pick<PodDefinition, 'name' | 'volumes' | 'podMounts'>,
  container: string,
  requests: readonly MountRequest[],
  host: (p: string) => HostPathFacts | undefined,
): { volumes: VolumeDefinition[]; mounts: VolumeMount[] } {
  const taken = new Set((pod.volumes ?? []).map((v) => v.name));
  const volumes: VolumeDefinition[] = [];
  const fresh = (): string => {
    const base = container.slice(0, 55).replace(/-+$/, '');
    for (let n = 0; ; n++) {
      const name = `${base}-${n}`;
      if (!taken.has(name)) {
        taken.add(name);
        return name;
      }
    }
  };
  const inside = (outer: string, p: string) => p === outer || p.startsWith(outer === '/' ? '/' : `${outer}/`);
  // the pod's hostPath volumes by their real path (one gone from the host is skipped: its own start will fail)
  const hostVolumes: { name: string; path: string; real: string }[] = [];
  const anyHost = requests.some((r) => r.source.kind === 'host');
  for (const v of anyHost ? (pod.volumes ?? []) : []) {
    const real = v.kind === 'hostPath' ? host(v.path)?.real : undefined;
    if (v.kind === 'hostPath' && real !== undefined) hostVolumes.push({ name: v.name, path: v.path, real });
  }
  // host paths first, shortest first, so an inner one finds the volume it lies in whatever the flags' order
  const source = new Map<MountRequest, { name: string; subPath?: string }>();
  const hostRequests = requests
    .filter((r) => r.source.kind === 'host')
    .map((r) => {
      const p = (r.source as { path: string }).path;
      const facts = host(p);
      if (facts === undefined)
        throw new BarepodError('invalid-value', `${r.flag}: host path ${p} does not exist`, {
          hint: `create it first (mkdir -p ${p}): barepod does not create a missing host path (a typo would become a new directory)`,
        });
      return { r, p, facts };
    })
    .sort((a, b) => a.p.length - b.p.length); // an ancestor as named is shorter: made first
  for (const { r, p, facts } of hostRequests) {
    // the longest ancestor (as named) that is a volume's path: the rest, as named, is resolved inside that volume (never following a link out)
    const at = facts.prefixes.map((a) => ({ a, v: hostVolumes.find((v) => v.real === a.real || v.path === a.path) })).find((x) => x.v);
    if (at) {
      const sub = p.slice(at.a.path.length).replace(/^\/+/, '');
      source.set(r, { name: at.v!.name, ...(sub ? { subPath: sub } : {}) });
      continue;
    }
    const held = hostVolumes.find((v) => inside(facts.real, v.real));
    if (held && !r.readOnly)
      throw new BarepodError('invalid-value', `${r.flag}: ${p} holds ${held.real}, the host path of volume "${held.name}" of pod "${pod.name}"`, {
        hint: `a container writing ${p} could turn that path into a link and lead the volume's next mount out of it: mount ${p} read-only (:ro), or mount what you need below it`,
      });
    const name = fresh();
    volumes.push({ kind: 'hostPath', name, path: p, type: facts.type });
    hostVolumes.push({ name, path: p, real: facts.real });
    source.set(r, { name });
  }
  const own: VolumeMount[] = [];
  for (const r of requests) {
    if (own.some((m) => m.mountPath === r.mountPath))
      throw usage(r.flag, `${r.mountPath} is already mounted by another -v, --mount or --tmpfs of this container`, 'mount each container path once');
    const s = r.source;
    let src: { name: string; subPath?: string };
    if (s.kind === 'volume') {
      if (!(pod.volumes ?? []).some((v) => v.name === s.name)) {
        const have = (pod.volumes ?? []).map((v) => v.name);
        throw new BarepodError('invalid-value', `${r.flag}: pod "${pod.name}" has no volume "${s.name}"${have.length ? ` (it has ${have.join(', ')})` : ''}`, {
          hint: `pod volumes are made with the pod (barepod pod create POD -v ${s.name}); a host directory is named by its absolute path`,
        });
      }
      src = { name: s.name, ...(r.subPath ? { subPath: r.subPath } : {}) };
    } else if (s.kind === 'host') {
      src = source.get(r)!;
    } else {
      src = { name: fresh() };
      volumes.push({ kind: 'emptyDir', name: src.name, medium: 'Memory', ...(s.sizeLimitBytes !== undefined ? { sizeLimitBytes: s.sizeLimitBytes } : {}) });
    }
    own.push({ name: src.name, mountPath: r.mountPath, readOnly: r.readOnly, ...(src.subPath ? { subPath: src.subPath } : {}) });
  }
  const inherited = (pod.podMounts ?? []).filter((m) => !own.some((o) => o.mountPath === m.mountPath));
  return { volumes, mounts: [...inherited, ...own] };
}

/** A container as the nested-mount check needs it. */
export interface MountingContainer {
  name: string;
  kind: ContainerKind;
  mounts?: VolumeMount[] | undefined;
}

/**
 * A mount below another volume's mountPath is resolved by runc at create time
 * through that volume's content: a container running at the same time that
 * can write the volume can swap the mount point for a link to /dev between
 * barepod's check and runc (which then binds the inner volume over its own
 * /dev and builds /dev in the host directory). Refused when another container
 * that can run while this one starts mounts the outer volume read-write.
 * Returns one message per conflict, for `check` containers (all by default).
 */
export function nestedMountConflicts(
  containers: readonly MountingContainer[],
  check: readonly MountingContainer[] = containers,
): { container: MountingContainer; message: string }[] {
  const alone = (c: MountingContainer) => memberKind(c).runsToCompletion;
  // o may be running while c starts: never one that runs to completion (they run alone, before the apps); for those, only one started before them that keeps running (a sidecar)
  const concurrent = (c: MountingContainer, o: MountingContainer) => o !== c && !alone(o) && (!alone(c) || memberKind(o).startsBeforeApps);
  const out: { container: MountingContainer; message: string }[] = [];
  for (const c of check) {
    for (const inner of c.mounts ?? []) {
      for (const outer of c.mounts ?? []) {
        const base = outer.mountPath.replace(/\/+$/, '');
        if (outer === inner || !inner.mountPath.startsWith(`${base}/`)) continue;
        const writer = containers.find((o) => concurrent(c, o) && (o.mounts ?? []).some((m) => m.name === outer.name && !m.readOnly));
        if (writer) {
          out.push({
            container: c,
            message: `"${inner.mountPath}" lies below "${outer.mountPath}" (volume "${outer.name}"), which container "${writer.name}" can write while this one starts: a link it made there would carry this mount onto the runtime's /dev, in the host directory (runc resolves mount points when it creates the container); mount "${inner.mountPath}" elsewhere, or volume "${outer.name}" readOnly in "${writer.name}"`,
          });
        }
      }
    }
  }
  return out;
}

import { BarepodError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { parseRestartPolicy, validateBackoff } from '../plan/restart.js';
import {
  DEFAULT_NETWORK,
  DEFAULT_SHARE,
  hostPortsOf,
  POD_DEFAULTS,
  SHAREABLE,
  type ContainerDefinition,
  type Limits,
  type PodDefinition,
  type SharedNamespace,
} from '../model.js';
import { validateName } from '../names.js';
import { parseAddHost, parsePublish, validateNetwork } from '../plan/network.js';
import { imageWorkdir, type ImageDefaults } from '../plan/image-ref.js';
import { resolveContainer } from '../plan/container.js';
import { procWorkdir } from '../plan/rootfs-paths.js';
import { parseDeviceFlag } from '../plan/devices.js';
import { cliSecurity } from '../plan/security.js';
import { parseBytes, parseCount, parseMilliCpu } from '../quantity.js';
import { parsePodVolumeFlag } from '../plan/mounts.js';

/** Limit flags as the CLI receives them (Kubernetes quantities). */
export interface LimitFlags {
  memory?: string | undefined;
  cpus?: string | undefined;
  pidsLimit?: string | undefined;
}

/** Parses limit flags; each error names the flag. */
export function parseLimits(flags: LimitFlags): Limits {
  const limits: Limits = {};
  if (flags.memory !== undefined) limits.memoryBytes = parseBytes(flags.memory, '--memory');
  if (flags.cpus !== undefined) limits.cpuMillis = parseMilliCpu(flags.cpus, '--cpus');
  if (flags.pidsLimit !== undefined) limits.pids = parseCount(flags.pidsLimit, '--pids-limit');
  return limits;
}

/**
 * Parses `--share`, podman's rule: a list replaces the default (net,ipc,uts),
 * a list led by `+` adds to it (`+pid` is net,ipc,uts,pid).
 */
export function parseShare(text: string | undefined): SharedNamespace[] {
  if (text === undefined) return [...DEFAULT_SHARE];
  const adding = text.trim().startsWith('+');
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: SharedNamespace[] = adding ? [...DEFAULT_SHARE] : [];
  for (const item of items) {
    const bare = item.replace(/^\+/, '');
    if (bare !== item && !adding) {
      throw new BarepodError(
        'invalid-value',
        `--share "${text}": "${item}": a + leads the whole list (--share +${items.map((i) => i.replace(/^\+/, '')).join(',')})`,
        {
          hint: 'a list replaces the default net,ipc,uts; a list led by + adds to it',
        },
      );
    }
    const ns = bare === 'network' ? 'net' : bare;
    if (!SHAREABLE.includes(ns as SharedNamespace)) {
      throw new BarepodError('invalid-value', `--share: unknown namespace "${bare}" (choose from ${SHAREABLE.join(', ')})`);
    }
    if (!out.includes(ns as SharedNamespace)) out.push(ns as SharedNamespace);
  }
  return SHAREABLE.filter((ns) => out.includes(ns));
}

/** Pod flags as the CLI receives them. */
export interface PodInput extends LimitFlags {
  name: string;
  share?: string | undefined;
  hostname?: string | undefined;
  restart?: string | undefined;
  backoff?: string | undefined;
  backoffMax?: string | undefined;
  backoffReset?: string | undefined;
  gracePeriod?: string | undefined;
  logSizeMax?: string | undefined;
  /** barepod (default), none, host, or a conflist's name */
  network?: string | undefined;
  publish?: string[] | undefined;
  addHost?: string[] | undefined;
  /** `-v NAME[:CTRDIR[:ro]]`: pod volumes (emptyDir), mounted by every container when CTRDIR is given */
  volume?: string[] | undefined;
}

/** A validated pod definition from CLI input. */
export function podDefinition(input: PodInput): PodDefinition {
  const name = validateName('pod', input.name);
  const hostname = input.hostname ?? name;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(hostname) || hostname.length > 63) {
    throw new BarepodError('invalid-value', `--hostname "${hostname}": must be a DNS name of at most 63 characters`);
  }
  const d = POD_DEFAULTS;
  const backoff = validateBackoff({
    initialMs: input.backoff === undefined ? d.backoff.initialMs : parseDuration(input.backoff, '--backoff'),
    maxMs: input.backoffMax === undefined ? d.backoff.maxMs : parseDuration(input.backoffMax, '--backoff-max'),
    resetMs: input.backoffReset === undefined ? d.backoff.resetMs : parseDuration(input.backoffReset, '--backoff-reset'),
  });
  const network = validateNetwork(input.network ?? DEFAULT_NETWORK, (input.publish ?? []).map(parsePublish));
  const hostAliases = (input.addHost ?? []).map(parseAddHost);
  const podVolumes = (input.volume ?? []).map(parsePodVolumeFlag);
  for (const [i, { volume, mount }] of podVolumes.entries()) {
    const before = podVolumes.slice(0, i);
    if (before.some((b) => b.volume.name === volume.name))
      throw new BarepodError('invalid-value', `-v: volume "${volume.name}" is given twice`, { hint: 'give each pod volume once' });
    if (mount && before.some((b) => b.mount?.mountPath === mount.mountPath))
      throw new BarepodError('invalid-value', `-v: ${mount.mountPath} is the mount path of two volumes`, { hint: 'mount each container path once' });
  }
  const podMounts = podVolumes.flatMap((v) => (v.mount ? [v.mount] : []));
  // --network host is hostNetwork: neither the pause nor a container gets a network namespace of its own
  const hostNet = network.kind === 'host';
  const share = parseShare(input.share).filter((ns) => !hostNet || ns !== 'net');
  if (hostPortsOf(network).length && !share.includes('net')) {
    throw new BarepodError(
      'invalid-value',
      '--publish needs the pod to share its network namespace (--share with net): the containers would not be on the pod IP',
    );
  }
  return {
    name,
    hostname,
    share,
    limits: parseLimits(input),
    restartPolicy: input.restart === undefined ? d.restartPolicy : parseRestartPolicy(input.restart, '--restart'),
    backoff,
    graceSeconds: input.gracePeriod === undefined ? d.graceSeconds : parseWholeSeconds(input.gracePeriod, '--grace-period'),
    logSizeMax: input.logSizeMax === undefined ? d.logSizeMax : parseLogSize(input.logSizeMax),
    network,
    ...(hostNet ? { host: ['net'] as SharedNamespace[] } : {}),
    ...(hostAliases.length ? { hostAliases } : {}),
    ...(podVolumes.length ? { volumes: podVolumes.map((v) => v.volume) } : {}),
    ...(podMounts.length ? { podMounts } : {}),
  };
}

/** A whole number of seconds (a grace period). */
export function parseWholeSeconds(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new BarepodError('invalid-value', `${flag} "${text}": must be a whole number of seconds`);
  return Number(text);
}

/** A log cap: a Kubernetes byte quantity of at least 4 KiB (conmon needs room for one buffer). */
function parseLogSize(text: string): number {
  const bytes = parseBytes(text, '--log-size-max');
  if (bytes < 4096) throw new BarepodError('invalid-value', `--log-size-max "${text}": must be at least 4Ki`);
  return bytes;
}

/** Parses a numeric `--user UID[:GID]` (exec; `run` also takes names, resolved through the image's /etc/passwd). */
export function parseUser(text: string | undefined): { uid: number; gid: number } {
  if (text === undefined) return { uid: 0, gid: 0 };
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new BarepodError('invalid-value', `--user "${text}": must be UID or UID:GID (numbers)`);
  const uid = Number(m[1]);
  const gid = m[2] === undefined ? uid : Number(m[2]);
  if (uid > 0xfffffffe || gid > 0xfffffffe) throw new BarepodError('invalid-value', `--user "${text}": uid and gid must be at most 4294967294`);
  return { uid, gid };
}

/** Parses `-e KEY=VALUE`; a bare KEY takes the value from barepod's own environment and is left out when unset, as podman does. */
export function parseEnv(items: string[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) throw new BarepodError('invalid-value', `--env "${item}": "${key}" is not a valid variable name`);
    if (eq >= 0) out.push(item);
    else if (process.env[key] !== undefined) out.push(`${key}=${process.env[key]}`);
  }
  return out;
}

export interface ContainerInput extends LimitFlags {
  name: string;
  image?: string | undefined;
  rootfs?: string | undefined;
  /** the words after `--`: the whole command line, or the args when `entrypoint` is given */
  command: string[];
  /** --entrypoint: replaces the image's entrypoint (Kubernetes `command`); the words after `--` are then its args */
  entrypoint?: string | undefined;
  env?: string[] | undefined;
  workdir?: string | undefined;
  user?: string | undefined;
  pid?: string | undefined;
  securityOpt?: string[] | undefined;
  /** --device HOST[:CONTAINER][:PERMISSIONS] (repeatable) */
  device?: string[] | undefined;
  /** --cap-add / --cap-drop (repeatable, comma lists) */
  capAdd?: string[] | undefined;
  capDrop?: string[] | undefined;
  privileged?: boolean | undefined;
  restart?: string | undefined;
  /** --read-only: a read-only root filesystem (Kubernetes readOnlyRootFilesystem) */
  readOnly?: boolean | undefined;
  /** -t: a terminal for the container (conmon holds it; attach reaches it) */
  tty?: boolean | undefined;
  /** -i: the container reads what an attached client sends */
  stdin?: boolean | undefined;
  /** stdin closes when the first attached client leaves (`run -i` without -t: the end of our stdin is the container's) */
  stdinOnce?: boolean | undefined;
  /** the image's defaults (entrypoint, cmd, env, workdir, user); the built-in busybox's (`sh`) when absent */
  imageDefaults?: ImageDefaults | undefined;
  /** the manifest digest of the stored image */
  imageId?: string | undefined;
}

const NO_IMAGE_DEFAULTS: ImageDefaults = { entrypoint: [], cmd: ['sh'], env: [], workdir: '/', user: '' };

/**
 * A validated container definition from CLI input, on top of the image's
 * defaults with Kubernetes semantics: an entrypoint replaces the image's
 * (and drops its cmd), args replace its cmd, env is merged (the user's
 * wins), workdir and user replace the image's.
 */
export function containerDefinition(input: ContainerInput): ContainerDefinition {
  const name = validateName('container', input.name);
  if (input.image !== undefined && input.rootfs !== undefined) throw new BarepodError('usage', '--image and --rootfs are mutually exclusive');
  const image = input.imageDefaults ?? NO_IMAGE_DEFAULTS;
  const imageName = input.image ?? 'busybox';
  const workdir = input.workdir ?? imageWorkdir(image.workdir, imageName);
  if (!workdir.startsWith('/')) throw new BarepodError('invalid-value', `--workdir "${workdir}": must be an absolute path`);
  const proc = procWorkdir(workdir);
  if (proc)
    throw new BarepodError('invalid-value', `--workdir "${workdir}": refused: it is ${proc}`, {
      hint: "choose a working directory inside the container's own files",
    });
  const pid = input.pid ?? 'pod';
  if (pid !== 'pod' && pid !== 'private')
    throw new BarepodError('invalid-value', `--pid "${pid}": must be "pod" (join the pod's, when it shares pid) or "private"`);
  let seccomp: 'default' | 'unconfined' = 'default';
  for (const opt of input.securityOpt ?? []) {
    if (opt === 'seccomp=unconfined') seccomp = 'unconfined';
    else throw new BarepodError('invalid-value', `--security-opt "${opt}": only seccomp=unconfined is supported`);
  }
  const security = cliSecurity(input);
  // a privileged container runs unconfined, as with a manifest's privileged: true (and containerd's WithPrivileged)
  if (security?.privileged) seccomp = 'unconfined';
  const devices = (input.device ?? []).map(parseDeviceFlag);
  const paths = devices.map((d) => d.containerPath);
  const twice = paths.find((p, i) => paths.indexOf(p) !== i);
  if (twice) throw new BarepodError('invalid-value', `--device: ${twice} is asked for twice`, { hint: 'give each device its own container path' });
  if (input.entrypoint === '') throw new BarepodError('invalid-value', '--entrypoint: must not be empty');
  // --entrypoint is Kubernetes' command and the words after -- its args; without it, the words are the whole command line
  const written =
    input.entrypoint !== undefined ? { command: [input.entrypoint], args: input.command } : { command: input.command.length > 0 ? input.command : undefined };
  const def = resolveContainer(
    {
      name,
      kind: 'app',
      image: input.rootfs === undefined ? (input.image ?? 'busybox') : null,
      rootfs: input.rootfs ?? null,
      ...written,
      env: parseEnv(input.env ?? []),
      workdir,
      userText: input.user,
      limits: parseLimits(input),
      pidMode: pid,
      seccomp,
      ...(devices.length ? { devices } : {}),
      ...(security ? { security } : {}),
      ...(input.restart === undefined ? {} : { restartPolicy: parseRestartPolicy(input.restart, '--restart') }),
      // the CLI's defaults (no_new_privs on, the default capabilities), with the root filesystem read-only
      ...(input.tty ? { tty: true } : {}),
      ...(input.stdin ? { stdin: true, ...(input.stdinOnce ? { stdinOnce: true } : {}) } : {}),
    },
    { defaults: image, digest: input.imageId },
  );
  if (def.args.length === 0) {
    throw new BarepodError('usage', `image ${input.image ?? ''} has no entrypoint or cmd: give the command after --`, {
      hint: `e.g. barepod run --pod POD --name ${name} --image ${input.image ?? 'IMAGE'} -- /bin/sh`,
    });
  }
  return def;
}

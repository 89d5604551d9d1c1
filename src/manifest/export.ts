import { NETWORK_ANNOTATION } from './pod.js';
import { DEFAULT_NETWORK, DEFAULT_SHARE, hostPortsOf, unreachable, type ContainerDefinition, type NetworkDefinition, type PodRecord } from '../model.js';
import { formatBytes } from '../quantity.js';
import { memberKind } from '../plan/members.js';
import { volumeKind } from '../plan/volume-kinds.js';

type Obj = Record<string, unknown>;

/**
 * A pod as a Kubernetes v1/Pod manifest: what the user wrote when the pod
 * came from `up`, else one built from its definitions (a pod made with the
 * CLI), within the subset `up` reads back.
 */
export function exportPod(rec: PodRecord): Obj {
  if (rec.manifest && typeof rec.manifest.source === 'object' && rec.manifest.source) return rec.manifest.source as Obj;
  const d = rec.def;
  const spec: Obj = {};
  if (d.hostname !== d.name) spec.hostname = d.hostname;
  if (d.share.includes('pid')) spec.shareProcessNamespace = true;
  if (d.host?.includes('net')) spec.hostNetwork = true;
  if (d.host?.includes('pid')) spec.hostPID = true;
  if (d.host?.includes('ipc')) spec.hostIPC = true;
  spec.restartPolicy = d.restartPolicy;
  spec.terminationGracePeriodSeconds = d.graceSeconds;
  if (d.limits.memoryBytes !== undefined || d.limits.cpuMillis !== undefined) spec.resources = { limits: limitsOf(d.limits) };
  const inits = rec.containers
    .filter((c) => memberKind(c.def).manifestList === 'initContainers')
    .map((c) => ({ ...container(c.def), ...(c.def.kind === 'sidecar' ? { restartPolicy: 'Always' } : {}) }));
  if (inits.length) spec.initContainers = inits;
  spec.containers = rec.containers.filter((c) => memberKind(c.def).manifestList === 'containers').map((c) => container(c.def));
  // -p mappings are the pod's (every container shares its IP): in a manifest they are a container's hostPorts, the first app container's here
  const first = (spec.containers as Obj[])[0];
  const mapped = new Set(rec.containers.flatMap((c) => (c.def.ports ?? []).map((p) => p.hostPort)));
  const extra = hostPortsOf(d.network).filter((p) => !mapped.has(p.hostPort));
  if (first && extra.length) {
    first.ports = [
      ...((first.ports as Obj[] | undefined) ?? []),
      ...extra.map((p) => ({
        containerPort: p.containerPort,
        hostPort: p.hostPort,
        protocol: p.protocol.toUpperCase(),
        ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      })),
    ];
  }
  if (d.volumes?.length) {
    spec.volumes = d.volumes.map((v) => ({ name: v.name, [v.kind]: volumeKind(v).manifest(v) }));
  }
  if (d.hostAliases?.length) spec.hostAliases = d.hostAliases;
  const unexportable = [
    ...(d.share.filter((ns) => ns !== 'pid').join(',') !== DEFAULT_SHARE.filter((ns) => !d.host?.includes(ns)).join(',')
      ? [`the pod shares only ${d.share.join(',')}`]
      : []),
    ...rec.containers.filter((c) => c.def.pidMode === 'private' && d.share.includes('pid')).map((c) => `${c.def.name} opts out of the pid namespace`),
    ...rec.containers.filter((c) => c.def.rootfs).map((c) => `${c.def.name} runs from --rootfs ${c.def.rootfs}`),
    // a manifest says a device with a hostPath volume of type CharDevice or BlockDevice, which barepod cannot tell apart without the host
    ...rec.containers
      .filter((c) => c.def.devices?.length)
      .map(
        (c) =>
          `${c.def.name} has --device ${c.def.devices!.map((d) => d.hostPath).join(', ')} (in a manifest: a hostPath volume of type CharDevice or BlockDevice)`,
      ),
    ...(d.limits.pids !== undefined ? ["the pod's pids limit"] : []),
  ];
  const network = networkAnnotation(d.network);
  const annotations = { ...d.annotations, ...network, ...(unexportable.length ? { 'barepod.io/not-exported': unexportable.join('; ') } : {}) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: d.name,
      ...(d.labels ? { labels: d.labels } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec,
  };
}

/** The annotation that names the pod's network in a manifest: none for the default network and for hostNetwork (spec.hostNetwork says it). */
function networkAnnotation(n: NetworkDefinition): Record<string, string> {
  switch (n.kind) {
    case 'none':
      return { [NETWORK_ANNOTATION]: 'none' };
    case 'host':
      return {};
    case 'cni':
      return n.name !== DEFAULT_NETWORK ? { [NETWORK_ANNOTATION]: n.name } : {};
    default:
      return unreachable(n);
  }
}

function limitsOf(l: ContainerDefinition['limits']): Obj {
  return {
    ...(l.cpuMillis !== undefined ? { cpu: `${l.cpuMillis}m` } : {}),
    ...(l.memoryBytes !== undefined ? { memory: formatBytes(l.memoryBytes) } : {}),
  };
}

/** A literal for a manifest: `up` expands `$(VAR)` and turns `$$` into `$` (as Kubernetes does), so every `$` is written `$$`. */
const literal = (s: string): string => s.replaceAll('$', '$$$$');

function container(c: ContainerDefinition): Obj {
  const out: Obj = { name: c.name, image: c.image ?? 'busybox', command: c.args.map(literal) };
  // references are exported as written (the ConfigMap, Secret or field), never their values
  const own = new Set((c.envRefs?.entries ?? []).map((e) => e.name));
  const env: Obj[] = [
    ...c.env
      .filter((e) => !own.has(e.slice(0, e.indexOf('='))))
      .map((e) => ({ name: e.slice(0, e.indexOf('=')), value: literal(e.slice(e.indexOf('=') + 1)) })),
    ...(c.envRefs?.entries ?? []).map((e) => (e.valueFrom ? { name: e.name, valueFrom: e.valueFrom } : { name: e.name, value: e.value ?? '' })),
  ];
  if (env.length) out.env = env;
  if (c.envRefs?.from?.length) out.envFrom = c.envRefs.from;
  if (c.workdir !== '/') out.workingDir = c.workdir;
  if (c.ports?.length) out.ports = c.ports;
  if (c.mounts?.length) out.volumeMounts = c.mounts;
  if (c.limits.memoryBytes !== undefined || c.limits.cpuMillis !== undefined) out.resources = { limits: limitsOf(c.limits) };
  const sc: Obj = {};
  if (c.user.uid !== 0) sc.runAsUser = c.user.uid;
  if (c.user.gid !== c.user.uid || (c.user.gid !== 0 && c.user.uid === 0)) sc.runAsGroup = c.user.gid;
  const s = c.security;
  if (s) {
    const strip = (x: string) => x.replace(/^CAP_/, '');
    if (s.capAdd.length || s.capDrop.length)
      sc.capabilities = { ...(s.capAdd.length ? { add: s.capAdd.map(strip) } : {}), ...(s.capDrop.length ? { drop: s.capDrop.map(strip) } : {}) };
    if (s.privileged) sc.privileged = true;
    if (s.readOnlyRootfs) sc.readOnlyRootFilesystem = true;
    if (!s.noNewPrivileges && !s.privileged) sc.allowPrivilegeEscalation = true;
    // a CLI container keeps no_new_privs on (a manifest's default is off): say it, so up gives the same process
    else if (s.noNewPrivileges && !s.privileged) sc.allowPrivilegeEscalation = false;
  }
  if (Object.keys(sc).length) out.securityContext = sc;
  if (c.tty) out.tty = true;
  if (c.stdin) out.stdin = true;
  if (c.stdinOnce) out.stdinOnce = true;
  return out;
}

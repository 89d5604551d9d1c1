import { NETWORK_ANNOTATION } from './pod.js';
import { DEFAULT_NETWORK, DEFAULT_SHARE, type ContainerDefinition, type PodRecord } from '../model.js';
import { formatBytes } from '../quantity.js';

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
  const inits = rec.containers.filter((c) => c.def.init || c.def.sidecar).map((c) => ({ ...container(c.def), ...(c.def.sidecar ? { restartPolicy: 'Always' } : {}) }));
  if (inits.length) spec.initContainers = inits;
  spec.containers = rec.containers.filter((c) => !c.def.init && !c.def.sidecar).map((c) => container(c.def));
  // -p mappings are the pod's (every container shares its IP): in a manifest they are a container's hostPorts, the first app container's here
  const first = (spec.containers as Obj[])[0];
  const mapped = new Set(rec.containers.flatMap((c) => (c.def.ports ?? []).map((p) => p.hostPort)));
  const extra = (d.network?.ports ?? []).filter((p) => !mapped.has(p.hostPort));
  if (first && extra.length) {
    first.ports = [
      ...((first.ports as Obj[] | undefined) ?? []),
      ...extra.map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol.toUpperCase(), ...(p.hostIP ? { hostIP: p.hostIP } : {}) })),
    ];
  }
  if (d.volumes?.length) {
    spec.volumes = d.volumes.map((v) => ({
      name: v.name,
      ...(v.emptyDir ? { emptyDir: { ...(v.emptyDir.medium ? { medium: v.emptyDir.medium } : {}), ...(v.emptyDir.sizeLimitBytes ? { sizeLimit: formatBytes(v.emptyDir.sizeLimitBytes) } : {}) } } : {}),
      ...(v.hostPath ? { hostPath: { path: v.hostPath.path, ...(v.hostPath.type ? { type: v.hostPath.type } : {}) } } : {}),
    }));
  }
  if (d.hostAliases?.length) spec.hostAliases = d.hostAliases;
  const unexportable = [
    ...(d.share.filter((ns) => ns !== 'pid').join(',') !== DEFAULT_SHARE.filter((ns) => !d.host?.includes(ns)).join(',') ? [`the pod shares only ${d.share.join(',')}`] : []),
    ...rec.containers.filter((c) => c.def.pidMode === 'private' && d.share.includes('pid')).map((c) => `${c.def.name} opts out of the pid namespace`),
    ...rec.containers.filter((c) => c.def.rootfs).map((c) => `${c.def.name} runs from --rootfs ${c.def.rootfs}`),
    ...(d.limits.pids !== undefined ? ['the pod\'s pids limit'] : []),
  ];
  const network = d.network && d.network.name !== DEFAULT_NETWORK && d.network.name !== 'host' ? { [NETWORK_ANNOTATION]: d.network.name } : {};
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

function limitsOf(l: ContainerDefinition['limits']): Obj {
  return {
    ...(l.cpuMillis !== undefined ? { cpu: `${l.cpuMillis}m` } : {}),
    ...(l.memoryBytes !== undefined ? { memory: formatBytes(l.memoryBytes) } : {}),
  };
}

function container(c: ContainerDefinition): Obj {
  const out: Obj = { name: c.name, image: c.image ?? 'busybox', command: c.args };
  if (c.env.length) out.env = c.env.map((e) => ({ name: e.slice(0, e.indexOf('=')), value: e.slice(e.indexOf('=') + 1) }));
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
    if (s.capAdd.length || s.capDrop.length) sc.capabilities = { ...(s.capAdd.length ? { add: s.capAdd.map(strip) } : {}), ...(s.capDrop.length ? { drop: s.capDrop.map(strip) } : {}) };
    if (s.privileged) sc.privileged = true;
    if (s.readOnlyRootfs) sc.readOnlyRootFilesystem = true;
    if (!s.noNewPrivileges && !s.privileged) sc.allowPrivilegeEscalation = true;
  }
  if (Object.keys(sc).length) out.securityContext = sc;
  if (c.tty) out.tty = true;
  if (c.stdin) out.stdin = true;
  return out;
}

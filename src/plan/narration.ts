/**
 * The words of `--explain` (and of the step list `up --dry-run` prints):
 * pure text from plans, specs and argvs, so a student reads the same
 * description whether barepod is about to do a step or is doing it.
 */
import { hostPortsOf, unreachable, type ContainerDefinition, type Limits, type PodDefinition, type SharedNamespace } from '../model.js';
import { memberKind } from './members.js';
import type { NamespaceType, Spec } from '../oci/types.js';
import { formatBytes } from '../quantity.js';

/** OCI namespace types as /proc/<pid>/ns names them (what a student can `ls`). */
const PROC_NAME: Record<NamespaceType, string> = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', cgroup: 'cgroup', user: 'user' };

/** One entry of a config.json's linux.namespaces: its type and the namespace it joins (undefined: a new one). */
export interface NamespaceRow {
  type: NamespaceType;
  path: string | undefined;
}

/** The namespaces section of a spec, in its order. */
export const namespaceRows = (spec: Spec): NamespaceRow[] => spec.linux.namespaces.map((n) => ({ type: n.type, path: n.path }));

/** "joins /proc/4242/ns/net, /proc/4242/ns/ipc; own mnt, pid": the short form of a namespaces section. */
export function namespaceSummary(rows: NamespaceRow[]): string {
  const joins = rows.filter((r) => r.path).map((r) => r.path!);
  const own = rows.filter((r) => !r.path).map((r) => PROC_NAME[r.type]);
  const parts = [...(joins.length ? [`joins ${joins.join(', ')}`] : []), ...(own.length ? [`own ${own.join(', ')}`] : [])];
  return parts.join('; ') || "no namespaces of its own: the host's";
}

/**
 * What a bundle's config.json says about isolation, one fact a line: where
 * it is (so it can be `cat`), each namespace (type, then the path it joins
 * or "new"), the cgroup, the hostname, the binds, limits and process.
 */
export function bundleLines(spec: Spec, configPath: string): string[] {
  const rows = namespaceRows(spec);
  const width = Math.max(...rows.map((r) => r.type.length), 0);
  const uts = rows.find((r) => r.type === 'uts');
  const hostname =
    spec.hostname ??
    (uts?.path ? "(none: it joins the pod's uts namespace, whose hostname the pause set)" : uts ? '(none)' : "(none: the host's uts namespace)");
  const binds = spec.mounts.filter((m) => m.type === 'bind').map((m) => `${m.source} → ${m.destination}${m.options?.includes('ro') ? ' (ro)' : ''}`);
  const limits = resourceWords(spec);
  return [
    `wrote ${configPath}: ${namespaceSummary(rows)}`,
    '  linux.namespaces:',
    ...rows.map((r) => `    ${r.type.padEnd(width)}  ${r.path ? `join ${r.path}` : 'new'}`),
    `  linux.cgroupsPath: ${spec.linux.cgroupsPath ?? "(runc's default)"}`,
    `  hostname: ${hostname}`,
    ...(binds.length ? [`  bind mounts: ${binds.join(', ')}`] : []),
    ...(limits ? [`  linux.resources: ${limits} (runc writes them into the cgroup)`] : []),
    `  process: ${shellWords(spec.process.args)} as uid ${spec.process.user.uid}, root ${spec.root.path}${spec.root.readonly ? ' (read-only)' : ''}`,
  ];
}

function resourceWords(spec: Spec): string {
  const r = spec.linux.resources;
  const words: string[] = [];
  if (r?.memory?.limit !== undefined) words.push(`memory ${formatBytes(r.memory.limit)}`);
  if (r?.cpu?.quota !== undefined) words.push(`cpu ${r.cpu.quota}/${r.cpu.period ?? 100000} µs`);
  if (r?.cpu?.shares !== undefined) words.push(`cpu shares ${r.cpu.shares}`);
  if (r?.memory?.reservation !== undefined) words.push(`memory reservation ${formatBytes(r.memory.reservation)} (memory.low)`);
  if (r?.pids?.limit !== undefined) words.push(`pids ${r.pids.limit}`);
  return words.join(', ');
}

/** Pod-level limits in words, or ''. */
function limitWords(l: Limits): string {
  return [
    ...(l.memoryBytes !== undefined ? [`memory ${formatBytes(l.memoryBytes)}`] : []),
    ...(l.cpuMillis !== undefined ? [`cpu ${l.cpuMillis}m`] : []),
    ...(l.pids !== undefined ? [`pids ${l.pids}`] : []),
    ...(l.cpuRequestMillis !== undefined ? [`cpu request ${l.cpuRequestMillis}m`] : []),
    ...(l.memoryRequestBytes !== undefined ? [`memory request ${formatBytes(l.memoryRequestBytes)}`] : []),
  ].join(', ');
}

/** An argv as one would type it in a shell, on one line: words quoted only when they need it ($'…' for newlines and tabs). */
export function shellWords(argv: readonly string[]): string {
  return argv.map(shellWord).join(' ');
}

function shellWord(a: string): string {
  if (/^[\w@%+=:,./-]+$/.test(a)) return a;
  if (/[\n\t\r]/.test(a))
    return `$'${a
      .replace(/[\\']/g, (c) => `\\${c}`)
      .replace(/\n/g, '\\n')
      .replace(/\t/g, '\\t')
      .replace(/\r/g, '\\r')}'`;
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * A conmon argv with its exit command folded: the exit command's arguments
 * (barepod's own argv and the member's identity) are the same for every
 * member and drown what a student should see.
 */
export function conmonWords(argv: readonly string[]): string {
  const at = argv.indexOf('--exit-command');
  if (at < 0) return shellWords(argv);
  const rest = argv.slice(at + 2).filter((a) => a !== '--exit-command-arg');
  return `${shellWords(argv.slice(0, at + 2))} --exit-command-arg … (${rest.length} arguments: ${shellWords(rest.slice(-4))})`;
}

// --- step titles: the same words for --explain and for up --dry-run --------------

/** Step: where a container's image comes from (the built-in busybox, the store, a pull). */
export const imageTitle = (ref: string, o: { builtin?: string; have?: boolean; policy?: string; pull?: boolean; local?: boolean; store?: string }): string =>
  o.builtin
    ? `Image ${ref}: the built-in rootfs ${o.builtin}, never pulled`
    : `Image ${ref}: ${o.have ? 'in' : 'not in'} the store ${o.store}; ${
        o.local
          ? 'a localhost/ name: a local image, never pulled'
          : `pull policy ${o.policy}: ${o.pull ? 'pull it (skopeo copies it into the store, barepod unpacks each new layer once)' : 'no pull'}`
      }`;

/** Step: the checks that come before anything is made. */
export const checkTitle = (pod: PodDefinition): string =>
  `Check before making anything: the pause rootfs${pod.network.kind === 'cni' ? `, network ${pod.network.name} (its plugins, its subnet against the host routes)` : ''}${
    hostPortsOf(pod.network).length
      ? `, host ports ${hostPortsOf(pod.network)
          .map((p) => `${p.hostPort}/${p.protocol}`)
          .join(' ')}`
      : ''
  }`;

/** Step: the pod's own directory and cgroup parent. */
export const podTitle = (pod: PodDefinition, dir: string, cgroup: string): string => {
  const limits = limitWords(pod.limits);
  return `Pod ${pod.name}: state directory ${dir}, cgroup parent ${cgroup}${limits ? ` with the pod limits (${limits})` : ' (no pod limits)'}`;
};

/** Step: the sandbox, from its spec: which namespaces the pause creates. */
export const sandboxTitle = (spec: Spec): string => {
  const created = namespaceRows(spec)
    .filter((r) => !r.path)
    .map((r) => PROC_NAME[r.type]);
  return `Sandbox: start pause in new ${created.join(', ')} namespaces (cgroup ${spec.linux.cgroupsPath})`;
};

/** Step: the pod's network. */
export const networkTitle = (pod: PodDefinition, netns: string, plugins?: string[]): string => {
  const n = pod.network;
  switch (n.kind) {
    case 'none':
      return "Network: none (the pause's new net namespace has only lo, which runc brings up)";
    case 'host':
      return "Network: host (the pod uses the host's net namespace: no CNI)";
    case 'cni':
      return `Network: CNI ADD ${n.name}${plugins?.length ? ` (${plugins.join(' → ')})` : ''} for netns ${netns}`;
    default:
      return unreachable(n);
  }
};

/** Step: one container, from the plan: its image, the pod namespaces it joins, its cgroup. */
export const containerTitle = (c: Pick<ContainerDefinition, 'name' | 'kind' | 'image' | 'rootfs'>, joined: SharedNamespace[], cgroup: string): string =>
  `${memberKind(c).title} ${c.name}: ${c.image ? `image ${c.image}` : `rootfs ${c.rootfs}`}, ${joined.length ? `joins the pod's ${joined.join(', ')} namespaces` : "joins none of the pod's namespaces"}, cgroup ${cgroup}${memberKind(c).runsToCompletion ? '; runs to completion before the next one starts' : ''}`;

/** Step: the prober of a pod with probes. */
export const proberTitle = (pod: PodDefinition): string =>
  `Probes: start the pod's prober${pod.host?.includes('net') ? '' : " inside its net namespace (so 127.0.0.1 is the pod's)"}`;

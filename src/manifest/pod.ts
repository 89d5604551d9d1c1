/**
 * Kubernetes v1/Pod manifests → barepod definitions: a documented subset of
 * the Pod API, read strictly. Every problem names its field path and the
 * rule; fields outside the subset are errors (warnings with `lenient`), so a
 * pod file never runs differently here than it reads.
 */
import { isIP } from 'node:net';
import { Composer, Lexer, LineCounter, Parser, visit, type Document } from 'yaml';
import { BarepodError } from '../errors.js';
import {
  DEFAULT_NETWORK,
  DEFAULT_SHARE,
  POD_DEFAULTS,
  type NetworkDefinition,
  type PortMapping,
  type ContainerPort,
  type ContainerProbes,
  type ProbeDefinition,
  type HostPathType,
  type Limits,
  type PodDefinition,
  type RestartPolicy,
  type SecurityDefinition,
  type SharedNamespace,
  type VolumeDefinition,
  type VolumeKind,
  type VolumeOf,
  type VolumeMount,
  isProjectedVolume,
} from '../model.js';
import { configDocument, PROJECTED_VOLUME_PARSERS } from './config-objects.js';
import { validateName, validateVolumeName } from '../names.js';
import { HOST_NAME_RULE, isHostName, networkNamed } from '../plan/network.js';
import type { ContainerSpec } from '../plan/container.js';
import { procWorkdir } from '../plan/rootfs-paths.js';
import { memberKind } from '../plan/members.js';
import { nestedMountConflicts } from '../plan/mounts.js';
import { parseBytes, parseMilliCpu } from '../quantity.js';
import { capabilityName } from '../plan/security.js';
import { deviceDestinationProblem, deviceRequests, isDeviceMount } from '../plan/devices.js';
import { listItems } from './list.js';
import { parseClaim } from './claims.js';
import { parseDaemonSet, parseDeployment } from './workloads.js';
import { parseEnv } from './env.js';
import { bool, checkKeys, int, Issues, isObj, list, obj, oneOf, str, stringMap, strings, type FieldIssue, type Obj } from './fields.js';

/** One pod from a manifest, ready for the lifecycle code. */
export interface ManifestPod {
  pod: PodDefinition;
  /** init containers and native sidecars first, in their order (`init` / `sidecar`), then the app containers; as written (resolveContainer applies their images) */
  containers: ContainerSpec[];
  /** what the user wrote, for `up`'s change detection and `export` */
  source: Obj;
}

/**
 * A Kubernetes object of a manifest that is not a pod (a ConfigMap, Secret or
 * PersistentVolumeClaim): stored or made before the pods that use it.
 */
export interface ManifestObject {
  kind: string;
  name: string;
  /** what the user wrote */
  source: Obj;
}

/** What one document (or one item of a `kind: List`) gives: pods and other objects. */
export interface DocumentResult {
  pods?: ManifestPod[];
  objects?: ManifestObject[];
}

/** Reads one document of a kind; records its problems in `is` (paths relative to the document). */
export type DocumentParser = (is: Issues, value: Obj, o: ParseOptions) => DocumentResult | undefined;

/**
 * Every kind `up -f` reads, by `kind`. Each kind's reader lives beside the
 * code that runs it; `List` is unwrapped before this table is consulted.
 */
export const DOCUMENT_KINDS: Record<string, DocumentParser> = {
  Pod: (is, value, o) => {
    const pod = parsePod(is, value, o);
    return pod ? { pods: [pod] } : undefined;
  },
  ConfigMap: configDocument('ConfigMap'),
  Secret: configDocument('Secret'),
  Deployment: (is, value, o) => parseDeployment(is, value, o),
  DaemonSet: (is, value, o) => parseDaemonSet(is, value, o),
  PersistentVolumeClaim: (is, value, o) => parseClaim(is, value, o),
};

export interface ParseOptions {
  /** unsupported fields become warnings */
  lenient?: boolean;
  /** where the text came from, for messages */
  file?: string;
}

const SUPPORTED_POD_SPEC = [
  'containers',
  'initContainers',
  'restartPolicy',
  'terminationGracePeriodSeconds',
  'shareProcessNamespace',
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'hostname',
  'volumes',
  'hostAliases',
  'resources',
];
const UNSUPPORTED_POD_SPEC = [
  'nodeName',
  'nodeSelector',
  'affinity',
  'tolerations',
  'serviceAccountName',
  'serviceAccount',
  'automountServiceAccountToken',
  'securityContext',
  'dnsPolicy',
  'dnsConfig',
  'priorityClassName',
  'priority',
  'schedulerName',
  'subdomain',
  'setHostnameAsFQDN',
  'imagePullSecrets',
  'runtimeClassName',
  'topologySpreadConstraints',
  'ephemeralContainers',
  'activeDeadlineSeconds',
  'enableServiceLinks',
  'preemptionPolicy',
  'overhead',
  'readinessGates',
  'os',
  'hostUsers',
  'schedulingGates',
  'resourceClaims',
];
const SUPPORTED_CONTAINER = [
  'name',
  'image',
  'command',
  'args',
  'env',
  'envFrom',
  'workingDir',
  'ports',
  'volumeMounts',
  'resources',
  'securityContext',
  'stdin',
  'stdinOnce',
  'tty',
  'imagePullPolicy',
  'restartPolicy',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
];
const UNSUPPORTED_CONTAINER = ['lifecycle', 'terminationMessagePath', 'terminationMessagePolicy', 'volumeDevices', 'resizePolicy'];

/** A manifest problem list as one usage error (exit 2): one line per field. */
export class ManifestError extends BarepodError {
  constructor(
    readonly file: string,
    readonly issues: FieldIssue[],
  ) {
    super(
      'invalid-value',
      `${file}: ${issues.length === 1 ? 'invalid manifest' : `${issues.length} problems`}:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      {
        hint: 'barepod supports a subset of v1/Pod: see the field table in docs/manifests.md (--lenient turns unsupported fields into warnings)',
      },
    );
  }
}

/**
 * What a manifest may hold: limits no real Pod reaches, so a hostile or
 * broken file costs little to refuse. Kubernetes' API refuses requests over
 * 3 MiB and annotations over 256 KiB (TotalAnnotationSizeLimitB).
 */
export const MANIFEST_LIMITS = {
  /** the file (all its documents) */
  bytes: 3 * 1024 * 1024,
  /** levels of nested YAML collections (a real Pod has about 10) */
  depth: 100,
  /** containers plus init containers of one pod (each is a conmon and a runc container) */
  containers: 100,
  /** the annotations of one pod, keys and values */
  annotationBytes: 256 * 1024,
  /** yaml's maxAliasCount: how far aliases may expand a document (its default; what stops an alias bomb) */
  aliasCount: 100,
} as const;

const where = (lc: LineCounter, offset: number) => {
  const { line, col } = lc.linePos(offset);
  return `at line ${line}, column ${col}`;
};

/** What a too-large file is told. */
export const TOO_LARGE = `more than the limit of 3 MiB (${MANIFEST_LIMITS.bytes} bytes) for a manifest (Kubernetes' API refuses requests over 3 MiB)`;

/** A YAML limit of the whole file (not of one document). */
class YamlLimit extends Error {}

interface ParsedDocument {
  doc: Document;
  /** where its first alias is, for the message about an alias bomb */
  firstAlias?: string;
}

/**
 * The YAML documents of a text, with a nesting limit enforced while the
 * (iterative) parser runs: the composer that follows is recursive, and a
 * deeply nested document would otherwise exhaust the stack, or the time.
 */
function parseYaml(text: string): ParsedDocument[] {
  const lc = new LineCounter();
  const parser = new Parser(lc.addNewLine);
  const tokens = [];
  lc.addNewLine(0);
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    // the parser's stack holds each open collection (and some of their items): count only when it could be too deep
    if (parser.stack.length > MANIFEST_LIMITS.depth) {
      const depth = parser.stack.filter((t) => t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection').length;
      if (depth > MANIFEST_LIMITS.depth) {
        throw new YamlLimit(`nests deeper than ${MANIFEST_LIMITS.depth} levels ${where(lc, parser.offset)} (barepod's limit; a Pod needs about 10)`);
      }
    }
  }
  for (const token of parser.end()) tokens.push(token);
  return [...new Composer({ uniqueKeys: true, customTags: (tags) => [YAML11_OCTAL, ...tags] }).compose(tokens)].map((doc) => {
    for (const e of doc.errors) if (e.pos[0] !== -1) e.message += ` ${where(lc, e.pos[0])}`;
    let firstAlias: string | undefined;
    visit(doc, {
      Alias(_key, node) {
        firstAlias = where(lc, node.range?.[0] ?? 0);
        return visit.BREAK;
      },
    });
    return firstAlias ? { doc, firstAlias } : { doc };
  });
}

/**
 * YAML 1.1's octal integers (`0644`), as Kubernetes reads them (its YAML is
 * 1.1): `defaultMode: 0644` is 0o644 there, and would silently be 644 (0o1204)
 * in YAML 1.2. A leading 0 and octal digits only; `0o644` works too.
 */
const YAML11_OCTAL = {
  identify: (v: unknown) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^0[0-7]+$/,
  resolve: (s: string) => parseInt(s, 8),
};

/** A document as plain values; aliases may expand it only so far (an alias bomb is an issue, not a crash). */
function documentValue({ doc, firstAlias }: ParsedDocument): { value: unknown } | { issue: string } {
  try {
    return { value: doc.toJS({ maxAliasCount: MANIFEST_LIMITS.aliasCount }) };
  } catch (e) {
    if (!(e instanceof ReferenceError) || firstAlias === undefined) throw e;
    return {
      issue: `aliases expand too much (more than ${MANIFEST_LIMITS.aliasCount} times, yaml's maxAliasCount): an alias bomb ("billion laughs")? Its first alias is ${firstAlias}`,
    };
  }
}

/** Parses every YAML document of a file into pods; throws a ManifestError listing every problem. */
export function parseManifests(text: string, o: ParseOptions = {}): { pods: ManifestPod[]; objects: ManifestObject[]; warnings: FieldIssue[] } {
  const file = o.file ?? 'manifest';
  const bytes = Buffer.byteLength(text);
  if (bytes > MANIFEST_LIMITS.bytes) {
    throw new ManifestError(file, [{ path: '(file)', message: `is ${bytes} bytes: ${TOO_LARGE}` }]);
  }
  let docs: ParsedDocument[];
  try {
    docs = parseYaml(text);
  } catch (e) {
    if (e instanceof YamlLimit) throw new ManifestError(file, [{ path: '(yaml)', message: e.message }]);
    throw e;
  }
  const issues: FieldIssue[] = [];
  const warnings: FieldIssue[] = [];
  const pods: ManifestPod[] = [];
  const objects: ManifestObject[] = [];
  const where: string[] = [];
  const all = docs;
  /** one object (a document, or an item of a List): its problems prefixed with where it is */
  const read = (value: unknown, at: string) => {
    const is = new Issues(o.lenient);
    const r = parseDocument(is, value, o);
    const prefix = (p: FieldIssue) => ({ path: at ? `${at}: ${p.path}` : p.path, message: p.message });
    issues.push(...is.errors.map(prefix));
    warnings.push(...is.warnings.map(prefix));
    if (!r || is.errors.length) return;
    for (const pod of r.pods ?? []) {
      pods.push(pod);
      where.push(at);
    }
    objects.push(...(r.objects ?? []));
  };
  all.forEach((parsed, i) => {
    const doc = parsed.doc;
    const at = all.length > 1 ? `document ${i + 1}` : '';
    for (const e of doc.errors) issues.push({ path: at || '(yaml)', message: e.message.split('\n')[0] ?? e.message });
    if (doc.errors.length) return;
    const js = documentValue(parsed);
    if ('issue' in js) {
      issues.push({ path: at ? `${at}: (yaml)` : '(yaml)', message: js.issue });
      return;
    }
    const value = js.value;
    if (value === null || value === undefined) return; // an empty document (a trailing ---)
    if (isObj(value) && value.kind === 'List') {
      const is = new Issues(o.lenient);
      const items = listItems(is, value);
      const prefix = (p: FieldIssue) => ({ path: at ? `${at}: ${p.path}` : p.path, message: p.message });
      issues.push(...is.errors.map(prefix));
      warnings.push(...is.warnings.map(prefix));
      items.forEach((item, j) => read(item, `${at ? `${at}: ` : ''}items[${j}]`));
      return;
    }
    read(value, at);
  });
  if (issues.length === 0 && pods.length === 0 && objects.length === 0) issues.push({ path: '(file)', message: 'holds no Pod' });
  const names = pods.map((p) => p.pod.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) issues.push({ path: `${where[i] || `document ${i + 1}`}: metadata.name`, message: `"${n}" is defined twice in this file` });
  });
  const keys = objects.map((b) => `${b.kind}/${b.name}`);
  keys.forEach((k, i) => {
    if (keys.indexOf(k) !== i) issues.push({ path: '(file)', message: `${k} is defined twice in this file` });
  });
  if (issues.length) throw new ManifestError(file, issues);
  return { pods, objects, warnings };
}

/** One object, by its kind. */
function parseDocument(is: Issues, value: unknown, o: ParseOptions): DocumentResult | undefined {
  if (!isObj(value)) return is.error('(document)', 'must be a Kubernetes object (a v1/Pod, for instance)');
  const kind = value.kind;
  const parser = typeof kind === 'string' && Object.hasOwn(DOCUMENT_KINDS, kind) ? DOCUMENT_KINDS[kind] : undefined;
  if (!parser) {
    const known = [...Object.keys(DOCUMENT_KINDS), 'List'].join(', ');
    return is.error('kind', `barepod does not read ${kind === undefined ? 'an object without a kind' : `a ${JSON.stringify(kind)}`} (it reads ${known})`);
  }
  return parser(is, value, o);
}

/** A v1/Pod object into a pod. */
export function parsePod(is: Issues, value: unknown, o: ParseOptions): ManifestPod | undefined {
  if (!isObj(value)) return is.error('(document)', 'must be a v1/Pod object');
  checkKeys(is, value, '', ['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
  if (value.apiVersion !== 'v1') is.error('apiVersion', `must be "v1", got ${JSON.stringify(value.apiVersion ?? null)}`);
  if (value.kind !== 'Pod') {
    is.error('kind', `must be "Pod", got ${JSON.stringify(value.kind ?? null)}`);
  }
  const meta = obj(is, value.metadata, 'metadata') ?? (is.error('metadata', 'is required'), {});
  checkKeys(is, meta, 'metadata', ['name', 'labels', 'annotations', 'namespace'], ['generateName', 'uid', 'ownerReferences', 'finalizers']);
  const name = str(is, meta.name, 'metadata.name', true);
  if (name !== undefined) is.attempt('metadata.name', () => validateName('pod', name));
  const labels = stringMap(is, meta.labels, 'metadata.labels');
  const annotations = stringMap(is, meta.annotations, 'metadata.annotations');
  const annotationBytes = Object.entries(annotations ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (annotationBytes > MANIFEST_LIMITS.annotationBytes) {
    is.error(
      'metadata.annotations',
      `${annotationBytes} bytes in total (keys and values): more than the limit of 256 KiB (${MANIFEST_LIMITS.annotationBytes} bytes, as Kubernetes' TotalAnnotationSizeLimitB)`,
    );
  }
  if (meta.namespace !== undefined && meta.namespace !== 'default') is.unsupported('metadata.namespace', 'only the "default" namespace exists on one host');

  const spec = obj(is, value.spec, 'spec') ?? (is.error('spec', 'is required'), {});
  checkKeys(is, spec, 'spec', SUPPORTED_POD_SPEC, UNSUPPORTED_POD_SPEC);
  const restartPolicy = oneOf<RestartPolicy>(is, spec.restartPolicy, 'spec.restartPolicy', ['Always', 'OnFailure', 'Never']) ?? 'Always';
  const grace = int(is, spec.terminationGracePeriodSeconds, 'spec.terminationGracePeriodSeconds', 0, 86_400) ?? POD_DEFAULTS.graceSeconds;
  const hostname = str(is, spec.hostname, 'spec.hostname');
  if (hostname !== undefined) is.attempt('spec.hostname', () => validateName('pod', hostname));

  const share: SharedNamespace[] = [...DEFAULT_SHARE];
  if (bool(is, spec.shareProcessNamespace, 'spec.shareProcessNamespace')) share.push('pid');
  const host: SharedNamespace[] = [];
  if (bool(is, spec.hostNetwork, 'spec.hostNetwork')) host.push('net');
  if (bool(is, spec.hostPID, 'spec.hostPID')) host.push('pid');
  if (bool(is, spec.hostIPC, 'spec.hostIPC')) host.push('ipc');
  if (host.includes('pid') && share.includes('pid')) is.error('spec.shareProcessNamespace', 'cannot be true together with hostPID');

  const volumes = parseVolumes(is, spec.volumes, containerNames(spec));
  const volumeNames = new Set(volumes.map((v) => v.name));
  const hostAliases = parseHostAliases(is, spec.hostAliases);
  const podLimits = parseResources(is, spec.resources, 'spec.resources');

  const seen = new Set<string>();
  const containers: ContainerSpec[] = [];
  let initItems = list(is, spec.initContainers, 'spec.initContainers') ?? [];
  let appItems = list(is, spec.containers, 'spec.containers');
  const count = initItems.length + (appItems?.length ?? 0);
  if (count > MANIFEST_LIMITS.containers) {
    is.error('spec.containers', `${count} containers and init containers: more than the limit of ${MANIFEST_LIMITS.containers} in a pod`);
    initItems = [];
    appItems = [];
  }
  const resourcesOf = (n: string): unknown => {
    const found = [...initItems, ...(appItems ?? [])].find((x) => isObj(x) && x.name === n);
    return found === undefined ? undefined : ((found as Obj).resources ?? {});
  };
  initItems.forEach((c, i) => {
    const def = parseContainer(is, c, `spec.initContainers[${i}]`, true, volumeNames, seen, o, resourcesOf);
    if (def) containers.push(def);
  });
  if (count <= MANIFEST_LIMITS.containers && (!appItems || appItems.length === 0)) is.error('spec.containers', 'must list at least one container');
  (appItems ?? []).forEach((c, i) => {
    const def = parseContainer(is, c, `spec.containers[${i}]`, false, volumeNames, seen, o, resourcesOf);
    if (def) containers.push(def);
  });
  // a claim mounted readOnly (persistentVolumeClaim.readOnly) is read-only in every container that mounts it
  const readOnlyClaims = new Set(volumes.filter((v) => v.kind === 'persistentVolumeClaim' && v.readOnly).map((v) => v.name));
  for (const c of containers) for (const m of c.mounts ?? []) if (readOnlyClaims.has(m.name)) m.readOnly = true;
  checkHostPorts(is, containers);
  readOnlyProjections(containers, volumes);
  checkNestedMounts(is, containers);
  checkDeviceMounts(is, containers, volumes);
  const network = podNetwork(is, annotations?.[NETWORK_ANNOTATION], host.includes('net'), containers);

  if (is.errors.length || name === undefined) return undefined;
  const pod: PodDefinition = {
    name,
    hostname: hostname ?? name,
    share: share.filter((ns) => !host.includes(ns)),
    limits: podLimits,
    restartPolicy,
    backoff: POD_DEFAULTS.backoff,
    graceSeconds: grace,
    logSizeMax: POD_DEFAULTS.logSizeMax,
    network,
    ...(host.length ? { host } : {}),
    ...(volumes.length ? { volumes } : {}),
    ...(labels && Object.keys(labels).length ? { labels } : {}),
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    ...(hostAliases.length ? { hostAliases } : {}),
  };
  return { pod, containers, source: value };
}

/** The annotation that picks a pod's network: a CNI network of /etc/barepod/net.d, or `none` (loopback only). */
export const NETWORK_ANNOTATION = 'barepod.io/network';

/**
 * hostNetwork, or the CNI network (default, or named by the annotation) with
 * every container's hostPort forwarded by portmap, or `none`.
 */
function podNetwork(is: Issues, annotation: string | undefined, hostNetwork: boolean, containers: ContainerSpec[]): NetworkDefinition {
  const at = `metadata.annotations.${NETWORK_ANNOTATION}`;
  if (hostNetwork) {
    if (annotation !== undefined) is.error(at, 'cannot be set together with spec.hostNetwork');
    return { kind: 'host' };
  }
  const name = annotation ?? DEFAULT_NETWORK;
  if (name === 'host') is.error(at, '"host": use spec.hostNetwork: true');
  else if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) is.error(at, `"${name}" is not a network name (a DNS-1123 label, or none)`);
  const ports = hostPortMappings(containers);
  if (name === 'none' && ports.length) is.error(at, '"none" has no host ports to forward: remove the hostPorts or pick a CNI network');
  return networkNamed(name, ports);
}

/** The names of a pod spec's containers and init containers as written (a downwardAPI volume's resourceFieldRef names one). */
function containerNames(spec: Obj): Set<string> {
  const out = new Set<string>();
  for (const l of [spec.containers, spec.initContainers]) if (Array.isArray(l)) for (const c of l) if (isObj(c) && typeof c.name === 'string') out.add(c.name);
  return out;
}

/** configMap, secret, downwardAPI and projected volumes are mounted read-only, whatever the volumeMount says (as the kubelet does). */
function readOnlyProjections(containers: ContainerSpec[], volumes: VolumeDefinition[]): void {
  const projected = new Set(volumes.filter(isProjectedVolume).map((v) => v.name));
  for (const c of containers) for (const m of c.mounts ?? []) if (projected.has(m.name)) m.readOnly = true;
}

/** One parser per kind of volume source, under the manifest key that is its kind; undefined when its fields have errors. */
const VOLUME_PARSERS: {
  [K in VolumeKind]: (is: Issues, raw: unknown, at: string, name: string, containers?: Set<string>) => VolumeOf<K> | undefined;
} = {
  emptyDir: (is, raw, at, name) => {
    const e = raw === null ? {} : obj(is, raw, at);
    if (!e) return undefined;
    checkKeys(is, e, at, ['medium', 'sizeLimit']);
    const medium = oneOf(is, e.medium, `${at}.medium`, ['', 'Memory']) ?? '';
    const size = e.sizeLimit === undefined ? undefined : is.attempt(`${at}.sizeLimit`, () => parseBytes(String(e.sizeLimit), 'sizeLimit'), 'sizeLimit');
    return { kind: 'emptyDir', name, medium, ...(size !== undefined ? { sizeLimitBytes: size } : {}) };
  },
  hostPath: (is, raw, at, name) => {
    const h = obj(is, raw, at);
    if (!h) return undefined;
    checkKeys(is, h, at, ['path', 'type']);
    const p = str(is, h.path, `${at}.path`, true);
    if (p !== undefined && !p.startsWith('/')) is.error(`${at}.path`, `"${p}" must be an absolute path`);
    const type =
      oneOf<HostPathType>(is, h.type, `${at}.type`, ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice']) ??
      '';
    return { kind: 'hostPath', name, path: p ?? '', type };
  },
  // a named local volume (pod/named-volumes.ts): its host path is filled in by up (bindClaims)
  persistentVolumeClaim: (is, raw, at, name) => {
    const c = obj(is, raw, at);
    if (!c) return undefined;
    checkKeys(is, c, at, ['claimName', 'readOnly']);
    const claimName = str(is, c.claimName, `${at}.claimName`, true);
    if (claimName !== undefined) is.attempt(`${at}.claimName`, () => validateVolumeName(claimName));
    const readOnly = bool(is, c.readOnly, `${at}.readOnly`) ?? false;
    return claimName === undefined ? undefined : { kind: 'persistentVolumeClaim', name, claimName, readOnly, path: '' };
  },
  ...PROJECTED_VOLUME_PARSERS,
};
const VOLUME_KEYS = Object.keys(VOLUME_PARSERS) as VolumeKind[];

function parseVolumes(is: Issues, v: unknown, containers: Set<string>): VolumeDefinition[] {
  const out: VolumeDefinition[] = [];
  (list(is, v, 'spec.volumes') ?? []).forEach((item, i) => {
    const path = `spec.volumes[${i}]`;
    const o = obj(is, item, path);
    if (!o) return;
    checkKeys(is, o, path, ['name', ...VOLUME_KEYS], ['nfs', 'csi', 'ephemeral']);
    const name = str(is, o.name, `${path}.name`, true);
    if (name !== undefined) is.attempt(`${path}.name`, () => validateName('container', name));
    if (name !== undefined && out.some((x) => x.name === name)) is.error(`${path}.name`, `"${name}" is already the name of another volume`);
    const sources = VOLUME_KEYS.filter((k) => o[k] !== undefined);
    if (sources.length !== 1 && Object.keys(o).every((k) => ['name', ...VOLUME_KEYS].includes(k))) {
      is.error(path, sources.length ? `must have exactly one source (${VOLUME_KEYS.join(' or ')})` : `needs a source: ${VOLUME_KEYS.join(' or ')}`);
    }
    // every source given is checked by its kind's parser (two are an error above: nothing runs)
    const vol = sources
      .map((k): VolumeDefinition | undefined =>
        (VOLUME_PARSERS[k] as (is: Issues, raw: unknown, at: string, name: string, c: Set<string>) => VolumeDefinition | undefined)(
          is,
          o[k],
          `${path}.${k}`,
          name ?? '',
          containers,
        ),
      )
      .find((x) => x !== undefined);
    out.push(vol ?? { kind: 'emptyDir', name: name ?? '', medium: '' }); // a volume with errors: stands in so mounts of it are checked, never runs
  });
  return out;
}

function parseHostAliases(is: Issues, v: unknown): { ip: string; hostnames: string[] }[] {
  const out: { ip: string; hostnames: string[] }[] = [];
  (list(is, v, 'spec.hostAliases') ?? []).forEach((item, i) => {
    const path = `spec.hostAliases[${i}]`;
    const o = obj(is, item, path);
    if (!o) return;
    checkKeys(is, o, path, ['ip', 'hostnames']);
    const ip = str(is, o.ip, `${path}.ip`, true);
    // checked as --add-host is: each value becomes part of an /etc/hosts line, so a line break or a space would add lines or names
    if (ip !== undefined && !isIP(ip)) is.error(`${path}.ip`, `${JSON.stringify(ip)} is not an IP address`);
    const hostnames = strings(is, o.hostnames, `${path}.hostnames`) ?? [];
    if (hostnames.length === 0) is.error(`${path}.hostnames`, 'must list at least one name');
    hostnames.forEach((n, j) => {
      if (!isHostName(n)) is.error(`${path}.hostnames[${j}]`, `${JSON.stringify(n)} is not a host name (${HOST_NAME_RULE})`);
    });
    out.push({ ip: ip ?? '', hostnames });
  });
  return out;
}

function parseResources(is: Issues, v: unknown, path: string): Limits {
  const o = obj(is, v, path);
  const limits: Limits = {};
  if (!o) return limits;
  checkKeys(is, o, path, ['limits', 'requests'], ['claims']);
  for (const kind of ['limits', 'requests'] as const) {
    const m = obj(is, o[kind], `${path}.${kind}`);
    if (!m) continue;
    for (const [res, q] of Object.entries(m)) {
      const at = `${path}.${kind}.${res}`;
      if (res !== 'cpu' && res !== 'memory') {
        is.unsupported(at, `resource "${res}" is not supported (cpu and memory are)`);
        continue;
      }
      const text = typeof q === 'number' ? String(q) : q;
      if (typeof text !== 'string') {
        is.error(at, `must be a quantity (a string or a number), got ${q === null ? 'null' : typeof q}`);
        continue;
      }
      const value = is.attempt(at, () => (res === 'memory' ? parseBytes(text, res) : parseMilliCpu(text, res)), res);
      if (value === undefined || kind === 'requests') continue; // requests are checked; one host schedules nothing
      if (res === 'memory') limits.memoryBytes = value;
      else limits.cpuMillis = value;
    }
  }
  return limits;
}

function parseContainer(
  is: Issues,
  item: unknown,
  path: string,
  init: boolean,
  volumes: Set<string>,
  seen: Set<string>,
  o: ParseOptions,
  /** the `resources` a container of the pod writes (resourceFieldRef), undefined for a name the pod has no container of */
  resourcesOf: (name: string) => unknown = () => undefined,
): ContainerSpec | undefined {
  const c = obj(is, item, path);
  if (!c) return undefined;
  checkKeys(is, c, path, SUPPORTED_CONTAINER, UNSUPPORTED_CONTAINER);
  const name = str(is, c.name, `${path}.name`, true);
  if (name !== undefined && is.attempt(`${path}.name`, () => validateName('container', name)) !== undefined) {
    if (seen.has(name)) is.error(`${path}.name`, `"${name}" is already the name of another container of this pod`);
    seen.add(name);
  }
  const image = str(is, c.image, `${path}.image`, true);
  const { env, envRefs, command, args } = parseEnv(
    is,
    c,
    path,
    name,
    resourcesOf,
    strings(is, c.command, `${path}.command`),
    strings(is, c.args, `${path}.args`),
  );
  const workdir = str(is, c.workingDir, `${path}.workingDir`);
  if (workdir !== undefined && !workdir.startsWith('/')) is.error(`${path}.workingDir`, `"${workdir}" must be an absolute path`);
  else if (workdir !== undefined && procWorkdir(workdir)) is.error(`${path}.workingDir`, `"${workdir}" is refused: it is ${procWorkdir(workdir)}`);
  let sidecar = false;
  if (c.restartPolicy !== undefined) {
    if (!init) is.error(`${path}.restartPolicy`, 'is only allowed on init containers (Always makes a native sidecar)');
    else sidecar = oneOf(is, c.restartPolicy, `${path}.restartPolicy`, ['Always']) === 'Always';
  }
  const restartPolicy: RestartPolicy | undefined = sidecar ? 'Always' : undefined;
  const ports = parsePorts(is, c.ports, `${path}.ports`);
  if (init && !sidecar && ports.length) is.error(`${path}.ports`, 'init containers may not declare ports (a native sidecar, restartPolicy: Always, may)');
  const mounts = parseMounts(is, c.volumeMounts, `${path}.volumeMounts`, volumes);
  const limits = parseResources(is, c.resources, `${path}.resources`);
  const { security, uid, gid } = parseSecurity(is, c.securityContext, `${path}.securityContext`);
  const pullPolicy = oneOf(is, c.imagePullPolicy, `${path}.imagePullPolicy`, ['Always', 'IfNotPresent', 'Never']);
  const probes: ContainerProbes = {};
  for (const [key, kind] of [
    ['livenessProbe', 'liveness'],
    ['readinessProbe', 'readiness'],
    ['startupProbe', 'startup'],
  ] as const) {
    if (c[key] === undefined) continue;
    if (init && !sidecar) {
      is.error(`${path}.${key}`, 'init containers may not have probes (a native sidecar may)');
      continue;
    }
    const p = parseProbe(is, c[key], `${path}.${key}`, ports, kind);
    if (p) probes[kind] = p;
  }
  const tty = bool(is, c.tty, `${path}.tty`);
  const stdin = bool(is, c.stdin, `${path}.stdin`);
  // as in Kubernetes: without stdin there is nothing to close once
  const stdinOnce = bool(is, c.stdinOnce, `${path}.stdinOnce`) && stdin;
  if (name === undefined || image === undefined) return undefined;
  // as written: the image's entrypoint, cmd, env, WorkingDir and USER are applied by resolveContainer, after the pull
  return {
    name,
    kind: sidecar ? 'sidecar' : init ? 'init' : 'app',
    image,
    rootfs: null,
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    env,
    ...(workdir !== undefined ? { workdir } : {}),
    ...(uid !== undefined ? { runAsUser: uid } : {}),
    ...(gid !== undefined ? { runAsGroup: gid } : {}),
    limits,
    pidMode: 'pod',
    seccomp: security?.privileged ? 'unconfined' : 'default',
    ...(restartPolicy ? { restartPolicy } : {}),
    ...(mounts.length ? { mounts } : {}),
    ...(security ? { security } : {}),
    ...(ports.length ? { ports } : {}),
    ...(tty ? { tty } : {}),
    ...(stdin ? { stdin } : {}),
    ...(stdinOnce ? { stdinOnce } : {}),
    ...(Object.keys(probes).length ? { probes } : {}),
    ...(pullPolicy ? { imagePullPolicy: pullPolicy } : {}),
    ...(envRefs ? { envRefs } : {}),
  };
}

/** A probe: exactly one of exec, tcpSocket, httpGet; a port by number or by the name of a container port. */
function parseProbe(is: Issues, v: unknown, path: string, ports: ContainerPort[], kind: keyof ContainerProbes): ProbeDefinition | undefined {
  const o = obj(is, v, path);
  if (!o) return undefined;
  checkKeys(
    is,
    o,
    path,
    ['exec', 'tcpSocket', 'httpGet', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'],
    ['grpc', 'terminationGracePeriodSeconds'],
  );
  const handlers = ['exec', 'tcpSocket', 'httpGet', 'grpc'].filter((k) => o[k] !== undefined);
  if (handlers.length !== 1)
    is.error(path, handlers.length ? `must have exactly one handler, got ${handlers.join(' and ')}` : 'needs a handler: exec, tcpSocket or httpGet');
  const port = (pv: unknown, at: string): number | undefined => {
    if (typeof pv === 'string') {
      const named = ports.find((p) => p.name === pv);
      return named ? named.containerPort : is.error(at, `"${pv}" is not the name of a port of this container`);
    }
    return int(is, pv, at, 1, 65535, true);
  };
  const probe: ProbeDefinition = {
    initialDelaySeconds: int(is, o.initialDelaySeconds, `${path}.initialDelaySeconds`, 0, 86_400) ?? 0,
    periodSeconds: int(is, o.periodSeconds, `${path}.periodSeconds`, 1, 86_400) ?? 10,
    timeoutSeconds: int(is, o.timeoutSeconds, `${path}.timeoutSeconds`, 1, 86_400) ?? 1,
    successThreshold: int(is, o.successThreshold, `${path}.successThreshold`, 1, 1000) ?? 1,
    failureThreshold: int(is, o.failureThreshold, `${path}.failureThreshold`, 1, 1000) ?? 3,
  };
  if (kind !== 'readiness' && probe.successThreshold !== 1) is.error(`${path}.successThreshold`, `must be 1 for a ${kind} probe`);
  const e = obj(is, o.exec, `${path}.exec`);
  if (e) {
    checkKeys(is, e, `${path}.exec`, ['command']);
    const command = strings(is, e.command, `${path}.exec.command`);
    if (!command?.length) is.error(`${path}.exec.command`, 'must list the command to run');
    else probe.exec = { command };
  }
  const t = obj(is, o.tcpSocket, `${path}.tcpSocket`);
  if (t) {
    checkKeys(is, t, `${path}.tcpSocket`, ['port', 'host']);
    const p = port(t.port, `${path}.tcpSocket.port`);
    const host = probeHost(is, t.host, `${path}.tcpSocket.host`);
    if (p !== undefined) probe.tcpSocket = { port: p, ...(host ? { host } : {}) };
  }
  const h = obj(is, o.httpGet, `${path}.httpGet`);
  if (h) {
    checkKeys(is, h, `${path}.httpGet`, ['port', 'path', 'host', 'httpHeaders', 'scheme']);
    const p = port(h.port, `${path}.httpGet.port`);
    const reqPath = str(is, h.path, `${path}.httpGet.path`) ?? '/';
    if (!reqPath.startsWith('/')) is.error(`${path}.httpGet.path`, `"${reqPath}" must start with /`);
    if (h.scheme !== undefined && h.scheme !== 'HTTP') is.unsupported(`${path}.httpGet.scheme`, 'only HTTP is supported');
    const host = probeHost(is, h.host, `${path}.httpGet.host`);
    const headers: Record<string, string> = {};
    (list(is, h.httpHeaders, `${path}.httpGet.httpHeaders`) ?? []).forEach((hv, i) => {
      const ho = obj(is, hv, `${path}.httpGet.httpHeaders[${i}]`);
      if (!ho) return;
      checkKeys(is, ho, `${path}.httpGet.httpHeaders[${i}]`, ['name', 'value']);
      const n = str(is, ho.name, `${path}.httpGet.httpHeaders[${i}].name`, true);
      const val = str(is, ho.value, `${path}.httpGet.httpHeaders[${i}].value`) ?? '';
      if (n) headers[n] = val;
    });
    if (p !== undefined) probe.httpGet = { port: p, path: reqPath, ...(host ? { host } : {}), ...(Object.keys(headers).length ? { headers } : {}) };
  }
  return probe;
}

/** A probe's host: an IP address or localhost (the prober, a small static program, resolves no names). */
function probeHost(is: Issues, v: unknown, path: string): string | undefined {
  const host = str(is, v, path);
  if (host === undefined || host === 'localhost' || isIP(host)) return host;
  return is.error(path, `"${host}" is not an IP address (or localhost): the prober resolves no host names`);
}

function parsePorts(is: Issues, v: unknown, path: string): ContainerPort[] {
  const out: ContainerPort[] = [];
  (list(is, v, path) ?? []).forEach((item, i) => {
    const at = `${path}[${i}]`;
    const o = obj(is, item, at);
    if (!o) return;
    checkKeys(is, o, at, ['containerPort', 'hostPort', 'protocol', 'name', 'hostIP']);
    const containerPort = int(is, o.containerPort, `${at}.containerPort`, 1, 65535, true);
    const hostPort = int(is, o.hostPort, `${at}.hostPort`, 1, 65535);
    let protocol: 'TCP' | 'UDP' = 'TCP';
    if (o.protocol === 'SCTP') is.unsupported(`${at}.protocol`, 'SCTP is not supported (TCP and UDP are)');
    else protocol = oneOf(is, o.protocol, `${at}.protocol`, ['TCP', 'UDP']) ?? 'TCP';
    const name = str(is, o.name, `${at}.name`);
    if (name !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
      is.error(`${at}.name`, `"${name}" must be an IANA service name (lower-case letters, digits, '-')`);
    if (name !== undefined && name.length > 15) is.error(`${at}.name`, `"${name}" is longer than 15 characters`);
    const hostIP = str(is, o.hostIP, `${at}.hostIP`);
    if (hostIP !== undefined && !isIP(hostIP)) is.error(`${at}.hostIP`, `"${hostIP}" is not an IP address`);
    if (hostIP !== undefined && hostPort === undefined) is.error(`${at}.hostIP`, 'needs a hostPort');
    if (containerPort === undefined) return;
    out.push({ containerPort, protocol, ...(hostPort !== undefined ? { hostPort } : {}), ...(hostIP ? { hostIP } : {}), ...(name ? { name } : {}) });
  });
  return out;
}

/** The containers' ports[].hostPort as the pod's port mappings (portmap forwards to the pod IP, which every container shares). */
function hostPortMappings(containers: ContainerSpec[]): PortMapping[] {
  return containers.flatMap((c) =>
    (c.ports ?? []).flatMap((p) =>
      p.hostPort === undefined
        ? []
        : [
            {
              hostPort: p.hostPort,
              containerPort: p.containerPort,
              protocol: p.protocol === 'UDP' ? ('udp' as const) : ('tcp' as const),
              hostIP: p.hostIP ?? '',
            },
          ],
    ),
  );
}

/** The nested mount points a running sibling could redirect (see plan/mounts.ts), each an error of its container's volumeMounts. */
function checkNestedMounts(is: Issues, containers: ContainerSpec[]): void {
  for (const { container: c, message } of nestedMountConflicts(containers))
    is.error(`spec.${memberKind(c).manifestList}[name=${c.name}].volumeMounts`, message);
}

/**
 * A volumeMount of a hostPath CharDevice/BlockDevice volume makes a device
 * node in the container (plan/devices.ts), not a bind mount: its mountPath
 * must be a place for one (below /dev), without subPath, and not inside
 * another volume the container mounts.
 */
function checkDeviceMounts(is: Issues, containers: ContainerSpec[], volumes: VolumeDefinition[]): void {
  const pod = { volumes };
  for (const c of containers) {
    const at = `spec.${memberKind(c).manifestList}[name=${c.name}].volumeMounts`;
    let bad = false;
    (c.mounts ?? []).forEach((m, i) => {
      if (!isDeviceMount(pod, m)) return;
      const why = deviceDestinationProblem(m.mountPath);
      if (why) is.error(`${at}[${i}].mountPath`, `"${m.mountPath}" (hostPath device volume "${m.name}") ${why}`);
      if (m.subPath) is.error(`${at}[${i}].subPath`, `a hostPath device volume ("${m.name}") has no subPath`);
      bad ||= why !== undefined || m.subPath !== undefined;
    });
    if (bad) continue;
    try {
      deviceRequests({ name: 'pod', volumes }, { name: c.name, mounts: c.mounts });
    } catch (e) {
      if (!(e instanceof BarepodError)) throw e;
      is.error(at, e.message.replace(/^pod "pod", container "[^"]*": /, ''));
    }
  }
}

function checkHostPorts(is: Issues, containers: ContainerSpec[]): void {
  const used = new Map<string, string>();
  for (const c of containers) {
    (c.ports ?? []).forEach((p) => {
      if (p.hostPort === undefined) return;
      const key = `${p.hostIP ?? '0.0.0.0'}:${p.hostPort}/${p.protocol}`;
      const other = used.get(key);
      if (other) is.error(`spec.containers[name=${c.name}].ports`, `hostPort ${key} is already mapped by container "${other}"`);
      used.set(key, c.name);
    });
  }
}

function parseMounts(is: Issues, v: unknown, path: string, volumes: Set<string>): VolumeMount[] {
  const out: VolumeMount[] = [];
  (list(is, v, path) ?? []).forEach((item, i) => {
    const at = `${path}[${i}]`;
    const o = obj(is, item, at);
    if (!o) return;
    checkKeys(is, o, at, ['name', 'mountPath', 'readOnly', 'subPath'], ['mountPropagation', 'subPathExpr', 'recursiveReadOnly']);
    const name = str(is, o.name, `${at}.name`, true);
    if (name !== undefined && !volumes.has(name)) is.error(`${at}.name`, `"${name}" is not a volume of this pod (spec.volumes)`);
    const mountPath = str(is, o.mountPath, `${at}.mountPath`, true);
    if (mountPath !== undefined && !mountPath.startsWith('/')) is.error(`${at}.mountPath`, `"${mountPath}" must be an absolute path`);
    if (mountPath !== undefined && out.some((m) => m.mountPath === mountPath))
      is.error(`${at}.mountPath`, `"${mountPath}" is already mounted by another volumeMount`);
    const subPath = str(is, o.subPath, `${at}.subPath`);
    if (subPath !== undefined && (subPath.startsWith('/') || subPath.split('/').includes('..'))) {
      is.error(`${at}.subPath`, `"${subPath}" must be a relative path without ".."`);
    }
    const readOnly = bool(is, o.readOnly, `${at}.readOnly`) ?? false;
    if (name === undefined || mountPath === undefined) return;
    out.push({ name, mountPath, readOnly, ...(subPath ? { subPath } : {}) });
  });
  return out;
}

function parseSecurity(is: Issues, v: unknown, path: string): { security?: SecurityDefinition; uid?: number; gid?: number } {
  const o = obj(is, v, path);
  if (!o) return {};
  checkKeys(
    is,
    o,
    path,
    ['capabilities', 'privileged', 'runAsUser', 'runAsGroup', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation'],
    ['runAsNonRoot', 'seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'procMount', 'windowsOptions'],
  );
  const capAdd: string[] = [];
  const capDrop: string[] = [];
  const caps = obj(is, o.capabilities, `${path}.capabilities`);
  if (caps) {
    checkKeys(is, caps, `${path}.capabilities`, ['add', 'drop']);
    for (const [kind, into] of [
      ['add', capAdd],
      ['drop', capDrop],
    ] as const) {
      (strings(is, caps[kind], `${path}.capabilities.${kind}`) ?? []).forEach((cap, i) => {
        const full = capabilityName(cap);
        if (!full) is.error(`${path}.capabilities.${kind}[${i}]`, `"${cap}" is not a Linux capability`);
        else into.push(full);
      });
    }
  }
  const uid = int(is, o.runAsUser, `${path}.runAsUser`, 0, 0xfffffffe);
  const gid = int(is, o.runAsGroup, `${path}.runAsGroup`, 0, 0xfffffffe);
  const privileged = bool(is, o.privileged, `${path}.privileged`) ?? false;
  const escalation = bool(is, o.allowPrivilegeEscalation, `${path}.allowPrivilegeEscalation`);
  if (privileged && escalation === false) is.error(`${path}.allowPrivilegeEscalation`, 'cannot be false when privileged is true');
  return {
    security: {
      capAdd,
      capDrop,
      privileged,
      readOnlyRootfs: bool(is, o.readOnlyRootFilesystem, `${path}.readOnlyRootFilesystem`) ?? false,
      // barepod's default keeps no_new_privs on; only an explicit allowPrivilegeEscalation: true (or privileged) lifts it
      noNewPrivileges: !(escalation === true || privileged),
    },
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
  };
}

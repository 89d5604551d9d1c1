/**
 * The manifest commands' work, loaded only when one of them runs: it brings
 * the YAML parser and the manifest code, which every other command starts without.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { BarepodError, withDetails } from '../../errors.js';
import { parseDuration } from '../../duration.js';
import { exportPod } from '../../manifest/export.js';
import { MANIFEST_LIMITS, ManifestError, parseManifests, TOO_LARGE, type ManifestObject, type ManifestPod } from '../../manifest/pod.js';
import { applyConfigObjects, downConfigObjects, madeByFile, type SourcedObject } from '../../pod/config-apply.js';
import { applyObjects, downObjects, podsOfFile, type ObjectOutcome } from '../../pod/manifest-objects.js';
import { bindClaims } from '../../pod/named-volumes.js';
import { joinedNamespaces, runcId, SANDBOX_NAME } from '../../plan/pod-plan.js';
import { containerPaths } from '../../plan/paths.js';
import { volumeKind, volumeSources } from '../../plan/volume-kinds.js';
import { downPod } from '../../pod/sandbox.js';
import { listMembers } from '../../pod/views.js';
import { waitForPod } from '../../pod/wait.js';
import { describeRefs } from '../../pod/env.js';
import type { Runtime } from '../../pod/runtime.js';
import type { Settings } from '../../runtime/host.js';
import { resolveArgv, type ImageDefaults } from '../../plan/image-ref.js';
import type { ContainerSpec } from '../../plan/container.js';
import { resolveImage } from '../../runtime/images.js';
import { applyUp, planUp, type PodPlan } from '../../pod/up-plan.js';
import { parseTlsVerify } from './images.js';
import { parseSeconds, runtimeFor } from '../common.js';
import { printJson, progressPrinter } from '../output.js';

/** Reads a manifest file ('-' is stdin) into pods and other objects, as written. */
function readManifest(file: string, lenient: boolean, quiet = false): { pods: ManifestPod[]; objects: ManifestObject[]; text: string } {
  let text: string;
  try {
    text = readBounded(file);
  } catch (e) {
    if (e instanceof BarepodError) throw e;
    throw new BarepodError('not-found', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, {
      cause: e,
    });
  }
  return { ...parseText(text, file, lenient, quiet), text };
}

/** A manifest's text, read no further than its size limit: a huge file or an endless pipe is refused, not read into memory. */
function readBounded(file: string): string {
  const fd = file === '-' ? 0 : fs.openSync(file, 'r');
  const refuse = (size: string) => new ManifestError(file === '-' ? '(stdin)' : file, [{ path: '(file)', message: `is ${size} bytes: ${TOO_LARGE}` }]);
  try {
    const st = fs.fstatSync(fd);
    if (st.isFile() && st.size > MANIFEST_LIMITS.bytes) throw refuse(String(st.size));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EOF') break;
        if (code !== 'EAGAIN') throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // a non-blocking stdin with nothing yet
        continue;
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > MANIFEST_LIMITS.bytes) throw refuse(`at least ${total}`);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    if (fd !== 0) fs.closeSync(fd);
  }
}

function parseText(text: string, file: string, lenient: boolean, quiet: boolean): { pods: ManifestPod[]; objects: ManifestObject[] } {
  const { pods, objects, warnings } = parseManifests(text, { file: file === '-' ? '(stdin)' : file, lenient });
  if (!quiet) for (const w of warnings) process.stderr.write(`barepod: warning: ${file}: ${w.path}: ${w.message} (ignored)\n`);
  return { pods, objects };
}

/** `up --configmap FILE`: the ConfigMaps and Secrets of another file (as podman kube play --configmap); any other kind there is an error. */
function readConfigFile(file: string, lenient: boolean): SourcedObject[] {
  const { pods, objects } = readManifest(file, lenient);
  const other = [
    ...pods.map((p) => `Pod/${p.pod.name}`),
    ...objects.filter((o) => o.kind !== 'ConfigMap' && o.kind !== 'Secret').map((o) => `${o.kind}/${o.name}`),
  ];
  if (other.length)
    throw new BarepodError('invalid-value', `--configmap ${file}: holds ${other.join(', ')}: a --configmap file holds only ConfigMaps and Secrets`, {
      hint: 'give the pods (and other kinds) with -f FILE',
    });
  return objects.map((object) => ({ object, madeBy: madeByFile(file) }));
}

/** An object's outcome for people: `persistentvolumeclaim/data created`. */
function objectLine(r: ObjectOutcome): string {
  return `${r.object.replace(/^[^/]+/, (k) => k.toLowerCase())} ${r.outcome}${r.pod ? ` (pod ${r.pod})` : ''}${r.detail ? `: ${r.detail}` : ''}\n`;
}

/** The argv a container would run, for the dry run: by its image's defaults when the image is stored, else as busybox's (up pulls it first). */
function dryArgs(settings: Settings, c: ContainerSpec): string[] {
  let defaults: ImageDefaults = { entrypoint: [], cmd: ['sh'], env: [], workdir: '/', user: '' };
  try {
    defaults = resolveImage(settings, c.image ?? 'busybox').defaults;
  } catch {
    // not in the store (yet)
  }
  return resolveArgv(defaults, c.command, c.args);
}

/** What `up --dry-run` prints for a pod: its planned steps (the very titles `up --explain` narrates) and what it would make. */
function dryRunView(rt: Runtime, p: PodPlan) {
  const mp = p.manifest;
  const d = mp.pod;
  const sources = volumeSources(rt.settings.stateRoot, d);
  const scope = rt.pod(d.name);
  const paths = scope.paths;
  return {
    pod: d.name,
    exists: rt.store.tryRead(d.name) !== undefined,
    steps: [...p.pulls, ...p.steps].map((s) => s.title),
    hostname: d.hostname,
    restartPolicy: d.restartPolicy,
    namespaces: { shared: d.share, host: d.host ?? [] },
    cgroupParent: scope.cgroup,
    limits: d.limits,
    podDir: paths.dir,
    volumes: (d.volumes ?? []).map((v) => ({ name: v.name, kind: volumeKind(v).label(v), source: sources[v.name] })),
    members: [
      {
        name: SANDBOX_NAME,
        runcId: runcId(d.name, SANDBOX_NAME),
        bundle: containerPaths(rt.settings.stateRoot, d.name, SANDBOX_NAME).bundle,
        cgroup: scope.containerCgroup(SANDBOX_NAME),
        args: ['/pause'],
      },
      ...mp.containers.map((c) => ({
        name: c.name,
        kind: c.kind,
        init: c.kind === 'init',
        runcId: runcId(d.name, c.name),
        image: c.image,
        args: dryArgs(rt.settings, c),
        bundle: containerPaths(rt.settings.stateRoot, d.name, c.name).bundle,
        cgroup: scope.containerCgroup(c.name),
        joins: joinedNamespaces(d, c).map((ns) => `/proc/<pause pid>/ns/${ns}`),
        limits: c.limits,
        mounts: (c.mounts ?? []).map((m) => `${m.name} -> ${m.mountPath}${m.readOnly ? ' (ro)' : ''}`),
        ...(c.envRefs ? { envRefs: describeRefs(c.envRefs) } : {}),
      })),
    ],
  };
}

export async function upAction(
  o: {
    file: string;
    dryRun?: boolean;
    replace?: boolean;
    lenient?: boolean;
    wait?: boolean;
    timeout: string;
    json?: boolean;
    tlsVerify?: string;
    configmap?: string[];
  },
  cmd: Command,
): Promise<void> {
  const read = readManifest(o.file, o.lenient === true);
  const configs = [
    ...(o.configmap ?? []).flatMap((f) => readConfigFile(f, o.lenient === true)),
    ...read.objects.map((object) => ({ object, madeBy: madeByFile(o.file) })),
  ];
  const timeoutMs = parseDuration(o.timeout, '--timeout');
  const rt = runtimeFor(cmd);
  // a claim's volume is <dataDir>/volumes/<claimName>/_data, per state root
  const pods = bindClaims(rt.settings, read.pods);
  const plans = planUp(rt, pods);
  if (!o.dryRun) {
    // before the pods that use them; a running pod whose volume shows a changed one gets its new files now
    const applied = await applyConfigObjects(rt, configs);
    if (!o.json) {
      for (const a of applied.objects) process.stdout.write(`${a.kind.toLowerCase()}/${a.name} ${a.outcome}\n`);
      for (const r of applied.refreshed)
        process.stderr.write(
          r.kept ? `barepod: warning: pod/${r.pod} volume ${r.volume}: ${r.kept}: its files are kept\n` : `pod/${r.pod} volume ${r.volume} updated\n`,
        );
    }
  }
  if (o.dryRun) {
    const views = plans.map((p) => dryRunView(rt, p));
    if (o.json) printJson(views);
    else process.stdout.write(stringify(views));
    return;
  }
  const tlsVerify = parseTlsVerify(o.tlsVerify);
  // the objects pods use first (volumes of the file's claims), and a workload scaled to 0 loses its pod
  const objects = await applyObjects(rt, read.objects, pods, { say: (l) => process.stderr.write(`${l}\n`) });
  if (!o.json) for (const r of objects) process.stdout.write(objectLine(r));
  const results = await applyUp(rt, plans, {
    replace: o.replace === true,
    initTimeoutMs: timeoutMs,
    say: (l) => process.stderr.write(`${l}\n`),
    pull: { ...(tlsVerify !== undefined ? { tlsVerify } : {}), progress: progressPrinter(o.json === true) },
    done: (pod, outcome) => {
      if (!o.json) process.stdout.write(`pod/${pod} ${outcome}\n`);
    },
  });
  if (o.wait) for (const p of pods) await waitForPod(rt, p.pod.name, 'ready', timeoutMs);
  if (o.json) printJson(results.map((r) => upView(rt, r.pod, r.outcome)));
}

/**
 * What `up --json` says of a pod, as `kubectl get pod -o json` tells a CI
 * job: the outcome, the pod's IP, ports, hostname and READY counts, and per
 * container its kind, state, readiness and the digest of its image.
 */
function upView(rt: Runtime, pod: string, outcome: string) {
  const p = listMembers(rt, pod).pods[0]!;
  return {
    pod,
    outcome,
    state: p.state,
    ip: p.ip,
    ports: p.ports,
    hostname: p.hostname,
    network: p.network,
    readyContainers: p.readyContainers,
    appContainers: p.appContainers,
    containers: p.containers
      .filter((c) => c.container !== SANDBOX_NAME)
      .map((c) => ({
        name: c.container,
        kind: c.kind,
        state: c.state,
        status: c.status,
        ready: c.ready,
        pid: c.pid,
        restarts: c.restarts,
        exitCode: c.exitCode,
        image: c.image,
        imageId: c.imageId,
        ports: c.ports,
        startedAt: c.startedAt,
      })),
  };
}

export async function downAction(names: string[], o: { file?: string; time?: string; json?: boolean; volumes?: boolean }, cmd: Command): Promise<void> {
  if (!o.file && names.length === 0) throw new BarepodError('usage', 'down: give -f FILE or pod names');
  if (o.file && names.length) throw new BarepodError('usage', 'down: give -f FILE or pod names, not both');
  if (o.volumes && !o.file) throw new BarepodError('usage', 'down: --volumes goes with -f FILE (the volumes of the claims of that file)');
  const read = o.file ? readManifest(o.file, true) : undefined;
  const grace = o.time === undefined ? undefined : parseSeconds(o.time, '--time');
  const rt = runtimeFor(cmd);
  // every pod the file makes: its Pods and its workloads' pods
  const targets = read ? podsOfFile(rt.store, read.objects, read.pods) : names;
  const done: ({ pod: string; outcome: 'removed' | 'not-found' } | { object: string; outcome: string; detail?: string })[] = [];
  try {
    for (const name of targets) {
      const outcome = await downPod(rt, name, grace);
      done.push({ pod: name, outcome: outcome === 'removed' ? 'removed' : 'not-found' });
      if (!o.json) process.stdout.write(`pod/${name} ${outcome === 'removed' ? 'removed' : 'not found (already down)'}\n`);
    }
    if (read && o.file) {
      // the claims' data (--volumes), then the ConfigMaps and Secrets this very file made (pods that still mount one keep their files)
      const configs = downConfigObjects(rt, read.objects, madeByFile(o.file)).map((r): ObjectOutcome => ({
        object: `${r.kind}/${r.name}`,
        outcome: r.outcome,
        ...(r.outcome === 'kept' ? { detail: 'stored since by another file or command' } : {}),
      }));
      for (const r of [...(await downObjects(rt, read.objects, read.pods, { volumes: o.volumes === true })), ...configs]) {
        done.push({ object: r.object, outcome: r.outcome, ...(r.detail ? { detail: r.detail } : {}) });
        if (!o.json) process.stdout.write(objectLine(r));
      }
    }
  } catch (e) {
    // with --json, the pods taken down before the failure are in the error's details
    throw o.json && done.length ? withDetails(e, { pods: done }) : e;
  }
  if (o.json) printJson(done);
}

export async function exportAction(pod: string, o: { json?: boolean }, cmd: Command): Promise<void> {
  const manifest = exportPod(runtimeFor(cmd).store.read(pod));
  if (o.json) printJson(manifest);
  else process.stdout.write(stringify(manifest));
}

export async function waitAction(pods: string[], o: { for: string; timeout: string; json?: boolean }, cmd: Command): Promise<void> {
  if (o.for !== 'ready' && o.for !== 'delete') throw new BarepodError('invalid-value', `--for "${o.for}": must be ready or delete`);
  const timeoutMs = parseDuration(o.timeout, '--timeout');
  const rt = runtimeFor(cmd);
  for (const pod of pods) await waitForPod(rt, pod, o.for, timeoutMs);
  if (o.json) printJson(pods.map((pod) => ({ pod, condition: o.for, met: true })));
  else process.stdout.write(`${pods.map((p) => `pod/${p}`).join(' ')} ${o.for === 'ready' ? 'ready' : 'deleted'}\n`);
}

/** YAML for people (export, generate systemd's stored copy). */
export const toYaml = (value: unknown): string => stringify(value);
export { exportPod };

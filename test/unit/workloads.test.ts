/**
 * The readers of Deployment, DaemonSet and PersistentVolumeClaim documents
 * and of the persistentVolumeClaim volume: each becomes what up makes (one
 * pod named as podman names it, an object), and every problem names its
 * field path (a template's under spec.template.).
 */
import { describe, expect, it } from 'vitest';
import { ManifestError, parseManifests } from '../../src/manifest/pod.js';
import { claimRequest } from '../../src/manifest/claims.js';

const deployment = (spec: string, meta = 'name: web\n  labels: {app: web, tier: front}') => `apiVersion: apps/v1
kind: Deployment
metadata:
  ${meta}
spec:
${spec}`;
const TEMPLATE = `  template:
    metadata:
      labels: {app: web, version: "1"}
      annotations: {note: hi}
    spec:
      containers: [{name: app, image: busybox, command: [sleep, "100"]}]
`;
const SELECTOR = '  selector: {matchLabels: {app: web}}\n';

/** The problems of a file, as `path: message` lines. */
function problems(text: string, lenient = false): string[] {
  try {
    parseManifests(text, { file: 'f.yaml', lenient });
  } catch (e) {
    if (e instanceof ManifestError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('Deployment', () => {
  it("is one pod named <name>-pod-0, its labels and annotations with the template's, owned by Deployment/<name>", () => {
    const text = deployment(`  replicas: 1\n${SELECTOR}${TEMPLATE}`);
    const { pods, objects } = parseManifests(text);
    expect(pods).toHaveLength(1);
    const p = pods[0]!;
    expect(p.pod.name).toBe('web-pod-0');
    expect(p.pod.hostname).toBe('web-pod-0');
    expect(p.pod.owner).toBe('Deployment/web');
    expect(p.pod.labels).toEqual({ app: 'web', tier: 'front', version: '1' });
    expect(p.pod.annotations).toEqual({ note: 'hi' });
    expect(p.pod.restartPolicy).toBe('Always');
    expect(p.containers.map((c) => c.name)).toEqual(['app']);
    // up's change detection and export see what the user wrote: the Deployment
    expect((p.source as { kind: string }).kind).toBe('Deployment');
    expect(objects).toEqual([{ kind: 'Deployment', name: 'web', source: p.source }]);
  });

  it('replicas defaults to 1; 0 makes no pod (the object stays, for up to scale its pod away)', () => {
    expect(parseManifests(deployment(`${SELECTOR}${TEMPLATE}`)).pods).toHaveLength(1);
    const zero = parseManifests(deployment(`  replicas: 0\n${SELECTOR}${TEMPLATE}`));
    expect(zero.pods).toEqual([]);
    expect(zero.objects.map((o) => `${o.kind}/${o.name}`)).toEqual(['Deployment/web']);
  });

  it('replicas over 1 is an error naming spec.replicas (one host, one pod name)', () => {
    const got = problems(deployment(`  replicas: 3\n${SELECTOR}${TEMPLATE}`));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^spec\.replicas: 3: barepod runs 0 or 1 \(one host, one pod name: the pod is "web-pod-0"\)/);
    expect(problems(deployment(`  replicas: "1"\n${SELECTOR}${TEMPLATE}`))[0]).toMatch(/^spec\.replicas: must be a whole number/);
  });

  it("the selector must match the template's labels, and is required", () => {
    expect(problems(deployment(`  selector: {matchLabels: {app: api}}\n${TEMPLATE}`))).toEqual([
      'spec.selector.matchLabels: app=api is not a label of the pod template (spec.template.metadata.labels.app is "web"): the selector must match the template\'s labels',
    ]);
    expect(problems(deployment(`  selector: {matchLabels: {role: db}}\n${TEMPLATE}`))[0]).toContain('spec.template.metadata.labels has no role');
    expect(problems(deployment(TEMPLATE))).toEqual(['spec.selector: is required (apps/v1)']);
    expect(problems(deployment(`  selector: {matchExpressions: []}\n${TEMPLATE}`))).toEqual([
      'spec.selector.matchExpressions: is not supported by barepod',
      'spec.selector.matchLabels: must select at least one label (an empty selector is refused by Kubernetes)',
    ]);
  });

  it('problems of the pod template are named under spec.template.', () => {
    const bad = `${SELECTOR}  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {disk: ssd}
      containers: [{name: app, resources: {limits: {memory: 12Qi}}}]
`;
    expect(problems(deployment(bad))).toEqual([
      'spec.template.spec.nodeSelector: is not supported by barepod',
      'spec.template.spec.containers[0].image: is required',
      expect.stringMatching(/^spec\.template\.spec\.containers\[0\]\.resources\.limits\.memory: /),
    ]);
    // lenient: the template's unsupported fields are warnings under the same path
    const { warnings } = parseManifests(deployment(`${SELECTOR}${TEMPLATE.replace('    spec:\n', '    spec:\n      nodeSelector: {disk: ssd}\n')}`), {
      lenient: true,
    });
    expect(warnings).toEqual([{ path: 'spec.template.spec.nodeSelector', message: 'is not supported by barepod' }]);
  });

  it("a template restartPolicy other than Always is refused (Kubernetes' rule)", () => {
    const t = TEMPLATE.replace('    spec:\n', '    spec:\n      restartPolicy: Never\n');
    expect(problems(deployment(`${SELECTOR}${t}`))).toEqual([
      'spec.template.spec.restartPolicy: "Never": a Deployment\'s pod must have restartPolicy Always (Kubernetes\' rule)',
    ]);
  });

  it('strategy, revisionHistoryLimit, minReadySeconds, progressDeadlineSeconds are accepted and checked; anything else is strict', () => {
    const ok = `  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}}
  revisionHistoryLimit: 3
  minReadySeconds: 5
  progressDeadlineSeconds: 60
${SELECTOR}${TEMPLATE}`;
    expect(problems(deployment(ok))).toEqual([]);
    const bad = `  strategy: {type: BlueGreen, rollingUpdate: {maxSurge: lots}}
  revisionHistoryLimit: -1
  progressDeadlineSeconds: 0
  paused: true
  serviceName: x
${SELECTOR}${TEMPLATE}`;
    expect(problems(deployment(bad))).toEqual([
      'spec.paused: is not supported by barepod',
      'spec.serviceName: unknown field (not part of the supported v1/Pod subset)',
      'spec.revisionHistoryLimit: -1 is out of range (0–2147483647)',
      'spec.progressDeadlineSeconds: 0 is out of range (1–2147483647)',
      'spec.strategy.type: "BlueGreen" must be one of Recreate, RollingUpdate',
      'spec.strategy.rollingUpdate.maxSurge: must be a whole number or a percentage ("25%"), got "lots"',
    ]);
  });

  it('apiVersion must be apps/v1; the pod name must fit a DNS-1123 label; a Pod of the same name is a clash', () => {
    expect(problems(deployment(`${SELECTOR}${TEMPLATE}`).replace('apps/v1', 'v1'))).toEqual(['apiVersion: must be "apps/v1", got "v1"']);
    const long = 'a'.repeat(60);
    expect(problems(deployment(`${SELECTOR}${TEMPLATE}`, `name: ${long}`))[0]).toMatch(/^metadata\.name: invalid pod name "a{60}-pod-0": 66 characters/);
    const pod = `apiVersion: v1
kind: Pod
metadata: {name: web-pod-0}
spec: {containers: [{name: a, image: busybox}]}
`;
    expect(problems(`${pod}---\n${deployment(`${SELECTOR}${TEMPLATE}`)}`)).toEqual(['document 2: metadata.name: "web-pod-0" is defined twice in this file']);
  });
});

describe('DaemonSet', () => {
  const ds = (spec: string) => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, labels: {tier: node}}
spec:
${spec}`;

  it('is one pod agent-pod-0, owned by DaemonSet/agent', () => {
    const { pods } = parseManifests(ds(`  updateStrategy: {type: OnDelete}\n${SELECTOR}${TEMPLATE}`));
    expect(pods.map((p) => [p.pod.name, p.pod.owner, p.pod.labels])).toEqual([['agent-pod-0', 'DaemonSet/agent', { tier: 'node', app: 'web', version: '1' }]]);
  });

  it('has no replicas or strategy (its own updateStrategy)', () => {
    expect(problems(ds(`  replicas: 1\n  strategy: {type: Recreate}\n${SELECTOR}${TEMPLATE}`))).toEqual([
      'spec.replicas: unknown field (not part of the supported v1/Pod subset)',
      'spec.strategy: unknown field (not part of the supported v1/Pod subset)',
    ]);
  });
});

describe('PersistentVolumeClaim', () => {
  const pvc = (spec: string) => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
${spec}`;
  const GOOD = '  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n';

  it('is an object whose request is recorded', () => {
    const { pods, objects } = parseManifests(pvc(`${GOOD}  storageClassName: local\n  volumeMode: Filesystem\n`));
    expect(pods).toEqual([]);
    expect(objects.map((o) => `${o.kind}/${o.name}`)).toEqual(['PersistentVolumeClaim/data']);
    expect(claimRequest(objects[0]!.source)).toEqual({ accessModes: ['ReadWriteOnce'], storageBytes: 1 << 30, storageClassName: 'local' });
  });

  it('every problem names its field', () => {
    expect(
      problems(
        pvc('  accessModes: [ReadWriteSometimes]\n  resources: {requests: {storage: lots}, limits: {storage: 2Gi}}\n  volumeMode: Block\n  selector: {}\n'),
      ),
    ).toEqual([
      'spec.selector: is not supported by barepod',
      'spec.accessModes[0]: "ReadWriteSometimes" must be one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod',
      'spec.volumeMode: Block is not supported (a named volume is a directory: Filesystem)',
      'spec.resources.limits: is not supported by barepod',
      expect.stringMatching(/^spec\.resources\.requests\.storage: /),
    ]);
    expect(problems(pvc('  resources: {}\n'))).toEqual([
      'spec.accessModes: must list at least one access mode (Kubernetes requires one)',
      'spec.resources.requests.storage: is required (Kubernetes requires it)',
    ]);
    expect(problems(pvc(GOOD).replace('name: data', 'name: Data_1'))[0]).toMatch(/^metadata\.name: invalid volume name "Data_1"/);
  });

  it('a claim defined twice in a file is a clash', () => {
    expect(problems(`${pvc(GOOD)}---\n${pvc(GOOD)}`)).toEqual(['(file): PersistentVolumeClaim/data is defined twice in this file']);
  });
});

describe('persistentVolumeClaim volume', () => {
  const pod = (volume: string, mount = '{name: d, mountPath: /d}') => `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  volumes: [{name: d, persistentVolumeClaim: ${volume}}]
  containers: [{name: a, image: busybox, volumeMounts: [${mount}]}]
`;

  it('names its claim; up binds its host path; readOnly makes every mount of it read-only', () => {
    const p = parseManifests(pod('{claimName: data, readOnly: true}')).pods[0]!;
    expect(p.pod.volumes).toEqual([{ kind: 'persistentVolumeClaim', name: 'd', claimName: 'data', readOnly: true, path: '' }]);
    expect(p.containers[0]!.mounts).toEqual([{ name: 'd', mountPath: '/d', readOnly: true }]);
    const rw = parseManifests(pod('{claimName: data}')).pods[0]!;
    expect(rw.containers[0]!.mounts?.[0]?.readOnly).toBe(false);
  });

  it('a claimName is a DNS-1123 label (it names a directory), and required', () => {
    expect(problems(pod('{claimName: ../etc}'))[0]).toMatch(/^spec\.volumes\[0\]\.persistentVolumeClaim\.claimName: invalid volume name "\.\.\/etc"/);
    expect(problems(pod('{readOnly: true}'))).toEqual(['spec.volumes[0].persistentVolumeClaim.claimName: is required']);
    // another state root's volumes directory sits beside the default root's volumes under that name: volume rm would take it all
    expect(problems(pod('{claimName: barepod-0123abcd}'))[0]).toMatch(
      /^spec\.volumes\[0\]\.persistentVolumeClaim\.claimName: invalid volume name "barepod-0123abcd": barepod-<8 hex digits> is reserved/,
    );
    expect(problems(pod('{claimName: data, size: 1}'))).toEqual([
      'spec.volumes[0].persistentVolumeClaim.size: unknown field (not part of the supported v1/Pod subset)',
    ]);
  });

  it('a file of claim, Deployment and Pod in a List: the objects and both pods', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
        },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web' },
          spec: {
            selector: { matchLabels: { a: 'b' } },
            template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'a', image: 'busybox' }] } },
          },
        },
      ],
    };
    const { pods, objects } = parseManifests(JSON.stringify(list));
    expect(pods.map((p) => p.pod.name)).toEqual(['web-pod-0']);
    expect(objects.map((o) => `${o.kind}/${o.name}`)).toEqual(['PersistentVolumeClaim/data', 'Deployment/web']);
  });
});

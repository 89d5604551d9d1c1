/**
 * planUp: the steps of `up` as data (the kubelet's computePodActions). The
 * dry run prints exactly these and `up` carries them out in this order:
 * the pulls (one per image, by its pull policy), then per pod the checks,
 * its directory and cgroup, the sandbox, the network, init containers and
 * native sidecars one by one in manifest order, the app containers, and the
 * prober when a container has probes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/manifest/pod.js';
import { planUp, pullPolicyOf } from '../../src/pod/up-plan.js';
import type { Runtime } from '../../src/pod/runtime.js';
import { podScopes } from '../../src/pod/scope.js';

let dir = '';
let rt: Pick<Runtime, 'settings' | 'planContext' | 'pod'>;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barepod-unit-plan-'));
  const settings = { stateRoot: path.join(dir, 'state'), dataDir: path.join(dir, 'data'), imagesDir: path.join(dir, 'images'), cgroupRoot: 'barepod-t' };
  rt = { settings, planContext: () => ({ cgroupVersion: 1, cgroupRoot: settings.cgroupRoot, hostCapabilities: [] }), pod: podScopes(settings) };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const POD = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
  - name: setup
    image: busybox
    command: [sh, -c, 'true']
  - name: proxy
    image: proxy:1.2
    restartPolicy: Always
  containers:
  - name: app
    image: app:latest
    readinessProbe:
      exec: {command: ['true']}
  - name: log
    image: app:latest
    imagePullPolicy: IfNotPresent
  - name: local
    image: local:2
    imagePullPolicy: Never
`;

describe('planUp', () => {
  it('lists the pulls, the sandbox, init containers and sidecars one by one, the apps, then the prober', () => {
    const [plan] = planUp(rt, parseManifests(POD).pods);
    expect(plan!.pulls.map((s) => [s.image, s.policy, s.where])).toEqual([
      ['busybox', 'always', 'pod "web", initContainers "setup"'], // no tag: Always, but the built-in busybox is never pulled
      ['proxy:1.2', 'missing', 'pod "web", initContainers "proxy"'],
      // :latest is Always unless set; Always wins over the IfNotPresent of a later container, which it names
      ['app:latest', 'always', 'pod "web", containers "app"'],
      ['local:2', 'never', 'pod "web", containers "local"'],
    ]);
    expect(plan!.pulls[0]!.title).toMatch(/^Image busybox: the built-in rootfs .*, never pulled$/);
    expect(plan!.pulls[1]!.title).toMatch(/^Image proxy:1\.2: not in the store .*; pull policy missing: pull it/);
    expect(plan!.pulls[3]!.title).toMatch(/pull policy never: no pull$/);
    expect(plan!.steps.map((s) => ('container' in s ? `${s.kind} ${s.container}` : s.kind))).toEqual([
      'check',
      'pod',
      'sandbox',
      'network',
      'init setup',
      'sidecar proxy',
      'app app',
      'app log',
      'app local',
      'probes',
    ]);
    const titles = plan!.steps.map((s) => s.title);
    expect(titles[4]).toMatch(/^Init container setup: image busybox, joins the pod's .* namespaces, cgroup .*; runs to completion before the next one starts$/);
    expect(titles[5]).toMatch(/^Sidecar container proxy: image proxy:1\.2/);
    expect(titles[9]).toMatch(/^Probes: start the pod's prober/);
  });

  it('without probes there is no prober step', () => {
    const text = POD.replace(/    readinessProbe:\n.*\n/, '');
    const [plan] = planUp(rt, parseManifests(text).pods);
    expect(plan!.steps.map((s) => s.kind)).toEqual(['check', 'pod', 'sandbox', 'network', 'init', 'sidecar', 'app', 'app', 'app']);
  });

  it('an image two pods use is pulled once, before the first pod that needs it', () => {
    const two = `${POD}---\n${POD.replace('name: web', 'name: api')}`;
    const plans = planUp(rt, parseManifests(two).pods);
    expect(plans.map((p) => p.pulls.length)).toEqual([4, 0]);
    expect(plans[1]!.steps.map((s) => s.kind)).toContain('sandbox');
  });

  it("pull policies: Kubernetes' defaults by tag", () => {
    expect(pullPolicyOf('app', undefined)).toBe('always');
    expect(pullPolicyOf('app:latest', undefined)).toBe('always');
    expect(pullPolicyOf('app:1', undefined)).toBe('missing');
    expect(pullPolicyOf('reg:5000/app', undefined)).toBe('always');
    expect(pullPolicyOf('app:1', 'Always')).toBe('always');
    expect(pullPolicyOf('app', 'Never')).toBe('never');
  });
});

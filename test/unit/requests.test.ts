/**
 * Resource requests: the kubelet's conversions (millicores → cpu.shares →
 * cpu.weight), Kubernetes' defaulting (a limit without a request is the
 * request), the pod's effective request on its parent, the files written on
 * v1 and v2, and the container's OCI resources (shares always, the memory
 * reservation only on v2, where runc writes it to memory.low).
 */
import { describe, expect, it } from 'vitest';
import { applyOpts, milliCpuToShares, sharesToWeight, withCpuLimit, withCpuRequest, withMemoryLimit, withMemoryRequest } from '../../src/oci/options.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import { limitFiles } from '../../src/runtime/cgroupfs.js';
import { parseManifests, ManifestError } from '../../src/manifest/pod.js';
import { thrown } from '../helpers/thrown.js';

const Mi = 1024 * 1024;

describe("the kubelet's conversions", () => {
  // pkg/kubelet/cm MilliCPUToShares: MinShares 2, SharesPerCPU 1024, MilliCPUToCPU 1000, MaxShares 262144
  it.each([
    [0, 2],
    [1, 2],
    [2, 2],
    [10, 10],
    [100, 102],
    [250, 256],
    [500, 512],
    [1000, 1024],
    [1500, 1536],
    [2000, 2048],
    [256_000, 262_144],
    [1_000_000, 262_144],
  ])('%i millicores → %i shares', (milli, shares) => expect(milliCpuToShares(milli)).toBe(shares));

  // CpuSharesToCpuWeight (and runc 1.1.5's ConvertCPUSharesToCgroupV2Value): 1 + ((shares - 2) * 9999) / 262142, integer
  it.each([
    [2, 1],
    [102, 4],
    [256, 10],
    [512, 20],
    [1024, 39],
    [2048, 79],
    [262_144, 10_000],
  ])('%i shares → cpu.weight %i', (shares, weight) => expect(sharesToWeight(shares)).toBe(weight));
});

describe('pod parent files of requests', () => {
  it('v1: cpu.shares, and nothing for a memory request (v1 has no memory.low)', () => {
    expect(limitFiles(1, { cpuRequestMillis: 250, memoryRequestBytes: 32 * Mi })).toEqual([{ controller: 'cpu', file: 'cpu.shares', value: '256' }]);
    expect(limitFiles(1, { cpuRequestMillis: 0 })).toEqual([{ controller: 'cpu', file: 'cpu.shares', value: '2' }]);
  });
  it('v2: cpu.weight by the conversion, memory.low', () => {
    expect(limitFiles(2, { cpuRequestMillis: 1000, memoryRequestBytes: 32 * Mi })).toEqual([
      { controller: 'cpu', file: 'cpu.weight', value: '39' },
      { controller: 'memory', file: 'memory.low', value: String(32 * Mi) },
    ]);
  });
});

describe("a container's OCI resources", () => {
  it('shares beside a CPU limit; the memory reservation (memory.low) on v2 only, beside a memory limit', () => {
    const v2 = applyOpts(defaultSpec(), withMemoryLimit(64 * Mi), withCpuLimit(500), withCpuRequest(250), withMemoryRequest(16 * Mi, 2));
    expect(v2.linux.resources).toMatchObject({
      cpu: { quota: 50_000, period: 100_000, shares: 256 },
      memory: { limit: 64 * Mi, swap: 64 * Mi, reservation: 16 * Mi },
    });
    const v1 = applyOpts(defaultSpec(), withCpuRequest(0), withMemoryRequest(16 * Mi, 1));
    expect(v1.linux.resources?.cpu).toEqual({ shares: 2 });
    expect(v1.linux.resources?.memory).toBeUndefined();
    expect(applyOpts(defaultSpec(), withCpuRequest(undefined)).linux.resources?.cpu).toBeUndefined();
  });
});

const pod = (containers: string, podResources = '') => `apiVersion: v1
kind: Pod
metadata: {name: req}
spec:${podResources}
  containers:
${containers}`;
const ctr = (name: string, resources = '') => `  - name: ${name}\n    image: busybox${resources ? `\n    resources: ${resources}` : ''}\n`;

describe('requests in a manifest', () => {
  it('a pod without any request keeps the cgroup defaults (nothing recorded, nothing written)', () => {
    const mp = parseManifests(pod(ctr('a') + ctr('b', '{limits: {memory: 64Mi}}'))).pods[0]!;
    expect(mp.pod.limits.cpuRequestMillis).toBeUndefined();
    expect(mp.containers.map((c) => c.limits.cpuRequestMillis)).toEqual([undefined, undefined]);
    // a memory limit is the memory request too (Kubernetes' defaulting): recorded, and summed on the pod
    expect(mp.containers[1]!.limits.memoryRequestBytes).toBe(64 * Mi);
    expect(mp.pod.limits.memoryRequestBytes).toBe(64 * Mi);
  });

  it('a limit without a request is the request; containers without one get the minimum once any has one; the pod gets the sum', () => {
    const mp = parseManifests(
      pod(
        ctr('a', '{requests: {cpu: 250m, memory: 32Mi}}') +
          ctr('b', '{limits: {cpu: 500m}}') +
          ctr('c') +
          '  initContainers:\n' +
          ctr('init', '{requests: {cpu: "1"}}'),
      ),
    ).pods[0]!;
    const by = Object.fromEntries(mp.containers.map((c) => [c.name, c.limits]));
    expect(by.a).toEqual({ cpuRequestMillis: 250, memoryRequestBytes: 32 * Mi });
    expect(by.b).toEqual({ cpuMillis: 500, cpuRequestMillis: 500 });
    expect(by.c).toEqual({ cpuRequestMillis: 0 });
    // the kubelet's effective pod request: max(sum of app containers, largest init container)
    expect(mp.pod.limits).toEqual({ cpuRequestMillis: 1000, memoryRequestBytes: 32 * Mi });
  });

  it('pod-level requests (Kubernetes 1.34) win over the sum; a pod-level limit alone is its request', () => {
    const mp = parseManifests(pod(ctr('a', '{requests: {cpu: 100m}}'), '\n  resources: {requests: {cpu: 2, memory: 1Gi}, limits: {memory: 2Gi}}')).pods[0]!;
    expect(mp.pod.limits).toEqual({ memoryBytes: 2048 * Mi, cpuRequestMillis: 2000, memoryRequestBytes: 1024 * Mi });
    const only = parseManifests(pod(ctr('a'), '\n  resources: {limits: {cpu: 1}}')).pods[0]!;
    expect(only.pod.limits).toEqual({ cpuMillis: 1000, cpuRequestMillis: 1000 });
  });

  it('a request above its limit is an error naming the field, as in Kubernetes', () => {
    const e = thrown<ManifestError>(() =>
      parseManifests(
        pod(ctr('a', '{requests: {cpu: "2", memory: 1Gi}, limits: {cpu: "1", memory: 64Mi}}'), '\n  resources: {requests: {cpu: 2}, limits: {cpu: 1}}'),
      ),
    );
    expect(e.issues.map((i) => i.path)).toEqual([
      'spec.resources.requests.cpu',
      'spec.containers[0].resources.requests.cpu',
      'spec.containers[0].resources.requests.memory',
    ]);
    expect(e.issues[1]!.message).toBe('2000m must be less than or equal to the cpu limit (1000m)');
  });
});

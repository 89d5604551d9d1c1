/**
 * Resource requests on real runc, read back from the cgroup files: each
 * container's CPU weight (cpu.shares on v1, cpu.weight on v2) by the
 * kubelet's conversion, the minimum for a container without a request, the
 * pod-level request on the pod parent, and memory.low on v2 (nothing on v1).
 */
import { describe, expect, it } from 'vitest';
import { cgroupRead as read, cgroupVersion, podManifest, skipReason, useTestEnv } from '../helpers/harness.js';

describe.skipIf(skipReason)('resource requests', () => {
  const t = useTestEnv();

  it("requests.cpu is each container's CPU weight, a container without one gets the minimum, the pod-level request is on the pod parent; requests.memory is memory.low on v2 only", async () => {
    const pod = t.pod('req');
    const file = podManifest(
      t,
      pod,
      `  terminationGracePeriodSeconds: 0
  resources: {requests: {cpu: "1"}}
  containers:
    - {name: small, image: busybox, command: [sleep, "600"], resources: {requests: {cpu: 250m, memory: 32Mi}}}
    - {name: limited, image: busybox, command: [sleep, "600"], resources: {limits: {cpu: 500m}}}
    - {name: none, image: busybox, command: [sleep, "600"]}
`,
      '  annotations: {barepod.io/network: none}\n',
    );
    await t.ok(['up', '-f', file, '--wait']);
    const parent = `${t.cgroupRoot}/${pod}`;
    const weight = (rel: string) => read(rel, 'cpu', cgroupVersion === 2 ? 'cpu.weight' : 'cpu.shares');
    // the kubelet's values: shares = milli × 1024 / 1000 (at least 2); weight = 1 + (shares − 2) × 9999 / 262142
    const expected = cgroupVersion === 2 ? { pod: '39', small: '10', limited: '20', none: '1' } : { pod: '1024', small: '256', limited: '512', none: '2' };
    expect({
      pod: weight(parent),
      small: weight(`${parent}/small`),
      limited: weight(`${parent}/limited`),
      none: weight(`${parent}/none`),
    }).toEqual(expected);
    if (cgroupVersion === 2) {
      expect(read(`${parent}/small`, 'memory', 'memory.low')).toBe(String(32 * 1024 * 1024));
      expect(read(parent, 'memory', 'memory.low')).toBe(String(32 * 1024 * 1024));
      expect(read(`${parent}/none`, 'memory', 'memory.low')).toBe('0');
    } else {
      // v1 has no memory.low: the request is recorded only (no soft limit either)
      expect(Number(read(`${parent}/small`, 'memory', 'memory.soft_limit_in_bytes'))).toBeGreaterThan(2 ** 62);
    }
    const v = JSON.parse(await t.ok(['inspect', pod, '--json'])) as {
      limits: { requested: { requests: unknown } };
      containers: { name: string; limits: { requests: unknown } }[];
    };
    expect(v.limits.requested.requests).toEqual({ cpu: '1000m', memory: '32Mi' });
    expect(v.containers.find((c) => c.name === 'small')!.limits.requests).toEqual({ cpu: '250m', memory: '32Mi' });
    expect(v.containers.find((c) => c.name === 'none')!.limits.requests).toEqual({ cpu: '0m', memory: null });
    await t.ok(['down', '-f', file]);
  }, 240_000);
});

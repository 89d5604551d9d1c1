/**
 * The examples are real Kubernetes: each document validates against its
 * kind's schema of kubernetes-models (generated from Kubernetes' OpenAPI
 * spec), and barepod reads each without a warning.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseManifests } from '../../src/manifest/pod.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples');
const examples = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));

/** The kubernetes-models class of each kind an example may hold. */
const MODELS: Record<string, new (value: never) => { validate(): void }> = { Pod, PersistentVolumeClaim, Deployment, DaemonSet, ConfigMap, Secret };

describe('examples', () => {
  it('there are examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  it.each(examples)("%s validates against the Kubernetes schema of each document's kind", (file) => {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      const value = doc.toJS() as { kind?: string };
      const Model = MODELS[value.kind ?? ''];
      expect(Model, `${file}: a model for kind ${value.kind}`).toBeDefined();
      const object = new Model!(value as never);
      expect(() => object.validate()).not.toThrow();
    }
  });

  it.each(examples)('%s is read by barepod without a warning', (file) => {
    const { pods, warnings } = parseManifests(fs.readFileSync(path.join(dir, file), 'utf8'), { file });
    expect(pods.length).toBeGreaterThan(0);
    expect(warnings).toEqual([]);
  });

  it('the schemas catch what barepod catches: a Deployment without a selector, a claim with a bad access mode', () => {
    const d = new Deployment({ metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'busybox' }] } } } as never });
    expect(() => d.validate()).toThrow(/selector/);
    const c = new PersistentVolumeClaim({ metadata: { name: 'x' }, spec: { accessModes: [7 as unknown as 'ReadWriteOnce'] } });
    expect(() => c.validate()).toThrow(/accessModes/);
  });

  it('the schema catches what barepod catches: a port as a string', () => {
    const pod = new Pod({
      metadata: { name: 'x' },
      spec: { containers: [{ name: 'a', image: 'busybox', ports: [{ containerPort: '80' as unknown as number }] }] },
    });
    expect(() => pod.validate()).toThrow(/containerPort must be integer/);
  });
});

/**
 * The examples are real Kubernetes: each validates against the Pod schema of
 * kubernetes-models (generated from Kubernetes' OpenAPI spec), and barepod
 * reads each without a warning.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseManifests } from '../../src/manifest/pod.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples');
const examples = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('examples', () => {
  it('there are examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  /** The kubernetes-models class of each kind an example holds. */
  const MODELS: Record<string, new (data: never) => { validate(): void }> = { Pod, ConfigMap, Secret };

  it.each(examples)("%s validates against the Kubernetes schema of each document's kind", (file) => {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      const value = doc.toJS() as { kind?: string };
      const Model = MODELS[value.kind ?? ''];
      expect(Model, `${file}: a ${value.kind}`).toBeDefined();
      expect(() => new Model!(value as never).validate()).not.toThrow();
    }
  });

  it.each(examples)('%s is read by barepod without a warning', (file) => {
    const { pods, warnings } = parseManifests(fs.readFileSync(path.join(dir, file), 'utf8'), { file });
    expect(pods.length).toBeGreaterThan(0);
    expect(warnings).toEqual([]);
  });

  it('the schema catches what barepod catches: a port as a string', () => {
    const pod = new Pod({
      metadata: { name: 'x' },
      spec: { containers: [{ name: 'a', image: 'busybox', ports: [{ containerPort: '80' as unknown as number }] }] },
    });
    expect(() => pod.validate()).toThrow(/containerPort must be integer/);
  });
});

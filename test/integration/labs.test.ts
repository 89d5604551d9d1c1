import { describe, expect, it } from 'vitest';
import { LABS } from '../../src/labs/catalog.js';
import { skipReason, useTestEnv } from '../helpers/harness.js';

interface CheckOutcome {
  lab: number;
  passed: boolean;
  error?: string;
  claims: { step: number; says: string; held: boolean; why?: string }[];
}

// Every lab's claims, checked on this host through the CLI exactly as a student's `lab check N` does.
describe.skipIf(skipReason)('labs', () => {
  const t = useTestEnv();
  for (const lab of LABS) {
    it(`lab ${lab.id}: ${lab.title}: every claim holds`, { timeout: 180_000 }, async () => {
      const r = await t.bp(['lab', 'check', String(lab.id), '--json', '--prefix', t.prefix]);
      for (const p of lab.pods) t.pod(p); // the leak check covers the lab's pods too
      const out = JSON.parse(r.stdout) as CheckOutcome;
      const failed = out.claims.filter((c) => !c.held).map((c) => `step ${c.step}: ${c.says}: ${c.why}`);
      expect({ error: out.error, failed }).toEqual({ error: undefined, failed: [] });
      expect(out.claims.length).toBeGreaterThanOrEqual(lab.steps.length - 1);
      expect(out.passed).toBe(true);
      expect(r.code).toBe(0);
    });
  }
});

/**
 * The batch/v1 Job reader: one pod named after the Job, its template read by
 * the Pod reader (problems at their place under spec.template), Kubernetes'
 * defaults and rules (restartPolicy OnFailure/Never, backoffLimit 6), and
 * what one host cannot do refused with the field named.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseManifests, ManifestError } from '../../src/manifest/pod.js';
import { jobText, jobView } from '../../src/pod/views.js';
import type { PodRecord } from '../../src/model.js';
import { thrown } from '../helpers/thrown.js';

const JOB = (spec = '', template = '      restartPolicy: OnFailure\n', extra = '') => `apiVersion: batch/v1
kind: Job
metadata:
  name: pi
  labels: {app: calc}
spec:
${spec}  template:
    metadata:
      labels: {app: calc}${extra}
    spec:
${template}      containers:
        - name: pi
          image: busybox
          command: [sh, -c, 'echo 3.14']
`;

const problems = (text: string, lenient = false) => {
  const e = thrown<ManifestError>(() => parseManifests(text, { file: 'job.yaml', lenient }));
  expect(e).toBeInstanceOf(ManifestError);
  return e.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('batch/v1 Job', () => {
  it("is one pod named after the Job, its template read as a Pod, with Kubernetes' defaults and job-name labels", () => {
    const { pods, warnings } = parseManifests(JOB(), { file: 'job.yaml' });
    expect(warnings).toEqual([]);
    expect(pods).toHaveLength(1);
    const mp = pods[0]!;
    expect(mp.pod.name).toBe('pi');
    expect(mp.pod.restartPolicy).toBe('OnFailure');
    expect(mp.pod.job).toEqual({ name: 'pi', backoffLimit: 6 });
    expect(mp.pod.owner).toBe('Job/pi');
    expect(mp.pod.labels).toEqual({ app: 'calc', 'batch.kubernetes.io/job-name': 'pi', 'job-name': 'pi' });
    expect(mp.containers.map((c) => [c.name, c.kind])).toEqual([['pi', 'app']]);
    expect((mp.source as { kind: string }).kind).toBe('Job'); // export gives back what was written
  });

  it('takes backoffLimit, activeDeadlineSeconds, completions and parallelism 1, restartPolicy Never', () => {
    const { pods } = parseManifests(
      JOB('  backoffLimit: 0\n  activeDeadlineSeconds: 30\n  completions: 1\n  parallelism: 1\n', '      restartPolicy: Never\n'),
    );
    expect(pods[0]!.pod.job).toEqual({ name: 'pi', backoffLimit: 0, activeDeadlineSeconds: 30 });
    expect(pods[0]!.pod.restartPolicy).toBe('Never');
  });

  it('refuses restartPolicy Always or none at all, as Kubernetes does', () => {
    expect(problems(JOB('', '      restartPolicy: Always\n'))).toEqual([
      'spec.template.spec.restartPolicy: "Always" is not allowed for a Job: OnFailure or Never',
    ]);
    expect(problems(JOB('', ''))).toEqual([
      'spec.template.spec.restartPolicy: is required for a Job: OnFailure or Never (the Pod default, Always, is not allowed)',
    ]);
  });

  it('refuses completions or parallelism other than 1, naming the field', () => {
    expect(problems(JOB('  completions: 3\n  parallelism: 2\n'))).toEqual([
      'spec.completions: 3: barepod runs one pod per Job (only 1 is supported)',
      'spec.parallelism: 2: barepod runs one pod per Job (only 1 is supported)',
    ]);
  });

  it('refuses ttlSecondsAfterFinished, suspend, podFailurePolicy and unknown fields (warnings with --lenient)', () => {
    const text = JOB('  ttlSecondsAfterFinished: 100\n  suspend: false\n  podFailurePolicy: {rules: []}\n  bogus: 1\n');
    const p = problems(text);
    expect(p).toHaveLength(4);
    expect(p[0]).toBe('spec.bogus: unknown field (not part of the supported v1/Pod subset)');
    expect(p[1]).toMatch(/^spec\.ttlSecondsAfterFinished: is not supported: barepod keeps a finished Job's pod/);
    expect(p[2]).toMatch(/^spec\.suspend: is not supported/);
    expect(p[3]).toMatch(/^spec\.podFailurePolicy: is not supported/);
    const lenient = parseManifests(text, { lenient: true });
    expect(lenient.pods).toHaveLength(1);
    expect(lenient.warnings.map((w) => w.path)).toEqual(['spec.bogus', 'spec.ttlSecondsAfterFinished', 'spec.suspend', 'spec.podFailurePolicy']);
  });

  it("reports the template's problems at their place under spec.template", () => {
    const text = JOB('', '      restartPolicy: OnFailure\n      nodeSelector: {a: b}\n', '\n      name: ignored\n      generateName: x-').replace(
      'image: busybox',
      'image: 7',
    );
    expect(problems(text)).toEqual([
      'spec.template.metadata.generateName: is not supported by barepod',
      'spec.template.spec.nodeSelector: is not supported by barepod',
      'spec.template.spec.containers[0].image: must be a string, got a number',
    ]);
  });

  it("a template label that is not a string is reported once, at its place (the one PodTemplateSpec reader, a Deployment's too)", () => {
    expect(problems(JOB().replace('      labels: {app: calc}', '      labels: {app: 3}'))).toEqual([
      'spec.template.metadata.labels.app: must be a string, got a number',
    ]);
  });

  it('checks the Job itself: apiVersion, its name, the template, backoffLimit and activeDeadlineSeconds ranges', () => {
    expect(problems(JOB().replace('batch/v1', 'v1'))).toEqual(['apiVersion: must be "batch/v1" for a Job, got "v1"']);
    expect(problems(JOB().replace('name: pi\n  labels', 'name: Pi_1\n  labels'))[0]).toMatch(/^metadata\.name: /);
    expect(problems(JOB('  backoffLimit: -1\n  activeDeadlineSeconds: 0\n'))).toEqual([
      'spec.backoffLimit: -1 is out of range (0–2147483647)',
      'spec.activeDeadlineSeconds: 0 is out of range (1–2147483647)',
    ]);
    expect(problems('apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec: {}\n')).toEqual(['spec.template: is required']);
  });

  it('is read in a List and beside a Pod; a Pod of the same name is a clash', () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: a, image: busybox}]}\n';
    const { pods } = parseManifests(`${pod}---\n${JOB()}`);
    expect(pods.map((p) => [p.pod.name, p.pod.job?.backoffLimit ?? null])).toEqual([
      ['web', null],
      ['pi', 6],
    ]);
    expect(problems(`${pod.replace('web', 'pi')}---\n${JOB()}`)).toEqual(['document 2: metadata.name: "pi" is defined twice in this file']);
    const list = { apiVersion: 'v1', kind: 'List', items: [parseYaml(JOB())] };
    expect(parseManifests(JSON.stringify(list)).pods.map((p) => p.pod.job?.name)).toEqual(['pi']);
  });

  it('its status for ps and inspect', () => {
    const rec = {
      def: { job: { name: 'pi', backoffLimit: 3 } },
      job: {
        state: 'Failed',
        failures: 4,
        reason: 'BackoffLimitExceeded',
        message: 'm',
        startTime: '2026-01-01T00:00:00Z',
        completionTime: '2026-01-01T00:01:00Z',
      },
    } as unknown as PodRecord;
    const v = jobView(rec)!;
    expect(v).toEqual({
      name: 'pi',
      state: 'Failed',
      failures: 4,
      backoffLimit: 3,
      activeDeadlineSeconds: null,
      reason: 'BackoffLimitExceeded',
      message: 'm',
      startTime: '2026-01-01T00:00:00Z',
      completionTime: '2026-01-01T00:01:00Z',
    });
    expect(jobText(v)).toBe('Job Failed: BackoffLimitExceeded (4 failures)');
    expect(jobText({ ...v, state: 'Active', failures: 1 })).toBe('Job Active (1 failure, backoffLimit 3)');
    expect(jobText({ ...v, state: 'Complete', failures: 0 })).toBe('Job Complete');
    expect(jobView({ def: {} } as unknown as PodRecord)).toBeNull();
    expect(jobView({ def: { job: { name: 'x', backoffLimit: 6 } } } as unknown as PodRecord)!.state).toBe('Pending');
  });
});

// The pure parts of bench/scale (bench/scale-lib.mjs): parsing /proc, picking one side's processes, kinds, sums, the pool.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseManifests } from '../../src/manifest/pod.js';
import {
  childCpuTicks,
  classify,
  median,
  parseProcStat,
  parseSmapsRollup,
  podManifest,
  pool,
  ratio,
  selectTree,
  sumByKind,
  table,
  type Proc,
} from '../../bench/scale-lib.mjs';

const ROLLUP = `55d7c6a1e000-7ffd4b5f9000 ---p 00000000 00:00 0                          [rollup]
Rss:                2116 kB
Pss:                 512 kB
Pss_Dirty:           100 kB
Pss_Anon:             96 kB
Pss_File:            416 kB
Pss_Shmem:             0 kB
Shared_Clean:       1800 kB
Private_Dirty:        96 kB
`;

describe('parseSmapsRollup', () => {
  it('reads the kB figures, Pss not confused with Pss_Anon/Pss_Dirty', () => {
    expect(parseSmapsRollup(ROLLUP)).toEqual({ rss: 2116, pss: 512, pssAnon: 96, pssFile: 416, pssShmem: 0 });
  });
  it('a line the kernel lacks is 0', () => {
    expect(parseSmapsRollup('Rss: 8 kB\nPss: 4 kB\n')).toEqual({ rss: 8, pss: 4, pssAnon: 0, pssFile: 0, pssShmem: 0 });
  });
});

describe('parseProcStat', () => {
  it('a comm with spaces and parentheses ends at the last ") "', () => {
    expect(parseProcStat('4242 (a) b (c) S 17 4242 4242 0 -1 4194560 ...')).toEqual({ pid: 4242, comm: 'a) b (c', state: 'S', ppid: 17 });
  });
  it('refuses what is not a stat line', () => {
    expect(() => parseProcStat('garbage')).toThrow(/stat/);
  });
});

describe('childCpuTicks', () => {
  it('cutime + cstime (fields 16 and 17), not the process own utime/stime, whatever its comm', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    expect(childCpuTicks('8111 (a b) c) R 8109 8109 19051 0 -1 4194304 102 0 0 0 7 3 250 41 20 0 1 0 2157415')).toBe(291);
  });
});

const ROOT = '/tmp/barepod-bench-scale-x/barepod';
const PM = '/tmp/barepod-bench-scale-x/podman';
const procs: Proc[] = [
  { pid: 1, ppid: 0, comm: 'init', cmdline: 'init\0' },
  { pid: 10, ppid: 1, comm: 'conmon', cmdline: `/usr/bin/conmon\0-b\0${ROOT}/pods/p/sandbox\0` },
  { pid: 11, ppid: 10, comm: 'pause', cmdline: '/pause\0' },
  { pid: 12, ppid: 1, comm: 'conmon', cmdline: `/usr/bin/conmon\0-b\0${ROOT}/pods/p/containers/a\0` },
  { pid: 13, ppid: 12, comm: 'sleep', cmdline: 'sleep\x003600\0' },
  { pid: 14, ppid: 13, comm: 'sh', cmdline: 'sh\0' }, // a container's child: still the container's
  { pid: 15, ppid: 1, comm: 'node', cmdline: `node\0/x/dist/barepod.mjs\0--root\0${ROOT}\0_prober\0p\0` },
  { pid: 16, ppid: 1, comm: 'node', cmdline: `node\0/x/dist/barepod.mjs\0--root\0${ROOT}\0_exited\0p\0` },
  { pid: 20, ppid: 1, comm: 'conmon', cmdline: `/usr/bin/conmon\0--exit-command-arg\0${PM}/storage\0` },
  { pid: 21, ppid: 20, comm: 'catatonit', cmdline: '/catatonit\0-P\0' },
  { pid: 22, ppid: 1, comm: 'podman', cmdline: `/usr/bin/podman\0--root\0${PM}/storage\0container\0cleanup\0` },
  { pid: 30, ppid: 1, comm: 'conmon', cmdline: '/usr/bin/conmon\0-b\0/run/barepod/pods/other\0' }, // another root's pod
  { pid: 31, ppid: 30, comm: 'sleep', cmdline: 'sleep\0' },
  { pid: 40, ppid: 1, comm: 'node', cmdline: `node\0bench/scale\0` }, // the bench
  { pid: 41, ppid: 40, comm: 'grep', cmdline: `grep\0${ROOT}\0` }, // its own child naming the root: excluded
];
const byPid = new Map(procs.map((p) => [p.pid, p]));

describe('selectTree', () => {
  it("one side's processes: those naming its root and their descendants, nothing of the other side or another root", () => {
    expect([...selectTree(procs, ROOT, [40, 41])].sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14, 15, 16]);
    expect([...selectTree(procs, PM, [40])].sort((a, b) => a - b)).toEqual([20, 21, 22]);
  });
  it('a process reached twice is counted once (a cycle in a racy snapshot does not loop)', () => {
    const racy = [
      { pid: 2, ppid: 3, cmdline: 'x\0ROOT\0' },
      { pid: 3, ppid: 2, cmdline: 'y\0' },
    ];
    expect([...selectTree(racy, 'ROOT')].sort()).toEqual([2, 3]);
  });
});

describe('classify', () => {
  it('pause/infra, conmon, prober, containers (below a conmon), engine, other', () => {
    const kinds = Object.fromEntries([10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 1].map((pid) => [pid, classify(byPid.get(pid)!, byPid)]));
    expect(kinds).toEqual({
      10: 'conmon',
      11: 'pause/infra',
      12: 'conmon',
      13: 'containers',
      14: 'containers',
      15: 'prober',
      16: 'engine',
      20: 'conmon',
      21: 'pause/infra',
      22: 'engine',
      1: 'other',
    });
  });
  it('a prober of another shape (a small C program) is still a prober', () => {
    const p = { pid: 50, ppid: 1, comm: 'barepod-probe', cmdline: `/x/barepod-probe\0${ROOT}\0` };
    expect(classify(p, byPid)).toBe('prober');
  });
});

describe('sumByKind', () => {
  it('sums PSS, RSS and processes per kind; every kind present, unknown kinds kept', () => {
    const s = sumByKind([
      { kind: 'conmon', comm: 'conmon', pss: 500, rss: 2000 },
      { kind: 'conmon', comm: 'conmon', pss: 400, rss: 2000 },
      { kind: 'other', comm: 'x', pss: 1, rss: 2 },
      { kind: 'new', comm: 'y', pss: 3, rss: 4 },
    ]);
    expect(s.conmon).toMatchObject({ procs: 2, pss: 900, rss: 4000 });
    expect(s.prober).toMatchObject({ procs: 0, pss: 0 });
    expect([...s.other!.comms]).toEqual(['x']);
    expect(s.new).toMatchObject({ procs: 1, pss: 3 });
  });
});

describe('median and ratio', () => {
  it('median of odd and even counts; NaN of none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
  it('ratio with two decimals; "-" when a side is missing or the divisor is 0', () => {
    expect(ratio(1, 3)).toBe('0.33');
    expect(ratio(1, Number.NaN)).toBe('-');
    expect(ratio(1, 0)).toBe('-');
  });
});

describe('pool', () => {
  it('never runs more than the limit at once, and returns results in item order', async () => {
    let running = 0;
    let peak = 0;
    const out = await pool([5, 1, 4, 2, 3, 0, 6, 2, 1, 3], 3, async (ms, i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return i * 10;
    });
    expect(peak).toBe(3);
    expect(out).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });
  it('rejects with the first failure, after the running ones end, and starts nothing more', async () => {
    const started: number[] = [];
    let ended = 0;
    const p = pool([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      await new Promise((r) => setTimeout(r, i === 1 ? 1 : 20));
      ended++;
      if (i === 1) throw new Error('one failed');
      return i;
    });
    await expect(p).rejects.toThrow('one failed');
    expect(ended).toBe(started.length);
    expect(started.length).toBeLessThan(6);
  });
});

describe('podManifest', () => {
  it('both sides get the same pod but for the image and its pull policy; the probe only when asked', () => {
    const bp = parse(podManifest('p-1', { image: 'busybox', probe: true }));
    const pm = parse(podManifest('p-1', { image: 'localhost/x:1', pullPolicy: 'Never', probe: true }));
    for (const c of pm.spec.containers) {
      expect(c).toMatchObject({ image: 'localhost/x:1', imagePullPolicy: 'Never' });
      c.image = 'busybox';
      delete c.imagePullPolicy;
    }
    expect(pm).toEqual(bp);
    expect(bp).toMatchObject({ kind: 'Pod', metadata: { name: 'p-1' }, spec: { shareProcessNamespace: true } });
    expect(bp.spec.containers.map((c: { command: string[] }) => c.command)).toEqual([
      ['sleep', '3600'],
      ['httpd', '-f', '-p', '8080'],
    ]);
    expect(bp.spec.containers[1].readinessProbe).toEqual({ tcpSocket: { port: 8080 } });
    // barepod takes the manifest as it is: no warnings, the probe parsed
    const parsed = parseManifests(podManifest('p-1', { image: 'busybox', probe: true }));
    expect(parsed.warnings).toEqual([]);
    expect(parsed.pods).toHaveLength(1);
    const plain = parse(podManifest('p-1', { image: 'busybox', probe: false }));
    expect(plain.spec.containers.some((c: object) => 'readinessProbe' in c)).toBe(false);
  });
});

describe('table', () => {
  it('pads the first column left and the others right', () => {
    expect(
      table([
        ['a', 'bb'],
        ['ccc', 'd'],
      ]),
    ).toBe('a    bb\nccc   d');
  });
});

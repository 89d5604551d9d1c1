// bench/scale-lib.mjs: the pure parts of bench/scale (no I/O), unit-tested in test/unit/bench-scale.test.ts.
// Types: bench/scale-lib.d.mts.

/** The kB figures of /proc/<pid>/smaps_rollup (Rss, Pss, Pss_Anon, Pss_File, Pss_Shmem; 0 when a line is absent, as on old kernels). */
export function parseSmapsRollup(text) {
  const kb = (key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { rss: kb('Rss'), pss: kb('Pss'), pssAnon: kb('Pss_Anon'), pssFile: kb('Pss_File'), pssShmem: kb('Pss_Shmem') };
}

/** pid, comm and ppid from /proc/<pid>/stat; comm may hold spaces and parentheses, so it ends at the last ") ". */
export function parseProcStat(text) {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(') ');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const rest = text.slice(close + 2).split(' ');
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state: rest[0], ppid: Number(rest[1]) };
}

/**
 * The CPU time, in clock ticks, of a process's waited-for children (cutime + cstime, fields 16 and 17 of
 * /proc/<pid>/stat): what the commands the bench ran and reaped used, with their own waited-for children
 * (runc start, CNI plugins), wherever they waited, whatever the load. Not what a daemonized conmon used.
 */
export function childCpuTicks(statText) {
  const rest = statText.slice(statText.lastIndexOf(') ') + 2).split(' ');
  return Number(rest[13]) + Number(rest[14]);
}

/**
 * The processes of one side of the bench: every process whose command line names `marker` (a state root or
 * a storage root only that side uses: conmon's bundle and exit-command arguments, a prober's --root, a podman
 * command left running), and all their descendants (the pause or infra and the containers, children of their
 * conmon). procs: [{pid, ppid, cmdline}], cmdline the NUL-separated /proc/<pid>/cmdline. Returns a Set of pids.
 */
export function selectTree(procs, marker, exclude = []) {
  const skip = new Set(exclude);
  const children = new Map();
  for (const p of procs) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p);
  }
  const picked = new Set();
  const todo = procs.filter((p) => !skip.has(p.pid) && p.cmdline.includes(marker));
  while (todo.length) {
    const p = todo.pop();
    if (picked.has(p.pid) || skip.has(p.pid)) continue;
    picked.add(p.pid);
    todo.push(...(children.get(p.pid) ?? []));
  }
  return picked;
}

/** The kinds a process of a pod is counted under, in print order. */
export const KINDS = ['pause/infra', 'conmon', 'prober', 'containers', 'engine', 'other'];

/**
 * What one process of a pod is: the pause or podman's infra (catatonit), a conmon, a prober (barepod's
 * `_prober`, or any program named like one), a container's process (below a conmon), the engine itself
 * (a barepod or podman process left resident), else other. byPid: Map pid -> {pid, ppid, comm, cmdline}.
 */
export function classify(proc, byPid) {
  const argv = proc.cmdline.split('\0').filter(Boolean);
  const argv0 = (argv[0] ?? '').split('/').pop();
  if (proc.comm === 'conmon') return 'conmon';
  if (/prob/i.test(proc.comm) || /prob/i.test(argv0) || argv.includes('_prober')) return 'prober';
  if (proc.comm === 'pause' || proc.comm === 'catatonit' || argv0 === 'pause' || argv0 === 'catatonit') return 'pause/infra';
  for (let p = byPid.get(proc.ppid), hops = 0; p && hops < 64; p = byPid.get(p.ppid), hops++) {
    if (p.comm === 'conmon') return 'containers';
  }
  if (proc.comm === 'podman' || argv0 === 'podman' || argv.some((a) => /barepod(\.mjs)?$/.test(a))) return 'engine';
  return 'other';
}

/** Sums rows [{kind, comm, pss, rss}] by kind: {kind: {procs, pss, rss, comms: Set}}, every kind of KINDS present. */
export function sumByKind(rows) {
  const out = Object.fromEntries(KINDS.map((k) => [k, { procs: 0, pss: 0, rss: 0, comms: new Set() }]));
  for (const r of rows) {
    const s = out[r.kind] ?? (out[r.kind] = { procs: 0, pss: 0, rss: 0, comms: new Set() });
    s.procs += 1;
    s.pss += r.pss;
    s.rss += r.rss;
    s.comms.add(r.comm);
  }
  return out;
}

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** a / b with two decimals, or "-" when either is missing (a side not run) or b is 0. */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : '-';
}

/** Runs fn over items, at most `limit` at a time; resolves to the results in item order, rejects on the first failure (after the running ones end). */
export async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  let failed;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw failed.e;
  return results;
}

/**
 * The bench's pod: two busybox containers, `a` sleeping and `b` serving HTTP on 8080 (a port for the tcpSocket
 * probe), in a shared pid namespace (the pause or infra is pid 1 and the programs are not, so SIGTERM ends them at
 * once on both sides: podman's kube play ignores terminationGracePeriodSeconds and would wait its own 10 s).
 * With probe, `b` has a tcpSocket readiness probe (Kubernetes' defaults: every 10 s). image and pullPolicy
 * are the only differences between the two sides' manifests.
 */
export function podManifest(name, { image, pullPolicy, probe }) {
  const pull = pullPolicy ? `\n      imagePullPolicy: ${pullPolicy}` : '';
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  shareProcessNamespace: true',
    '  containers:',
    '    - name: a',
    `      image: ${image}${pull}`,
    '      command: [sleep, "3600"]',
    '    - name: b',
    `      image: ${image}${pull}`,
    '      command: [httpd, -f, -p, "8080"]',
    ...(probe ? ['      readinessProbe:', '        tcpSocket: {port: 8080}'] : []),
    '',
  ].join('\n');
}

/** A fixed-width text table: rows of cells, the first row the header; columns after the first right-aligned. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === 0 ? String(c ?? '').padEnd(widths[i]) : String(c ?? '').padStart(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

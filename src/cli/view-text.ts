/**
 * The text of `ns`, `cgroups`, `top` and `stats` for people: pure functions
 * from the views' JSON shapes to lines, so the layouts are unit-tested.
 */
import type { CgroupLimit, CgroupNode, CgroupReading, NamespaceRelation, StatsReport, StatsRow } from '../plan/pod-views.js';
import { SANDBOX_NAME } from '../plan/pod-plan.js';
import type { CgroupTreeView, NamespaceView, TopProcess } from '../pod/observe.js';
import { formatBytesApprox } from '../quantity.js';
import { paintText, tableLines } from './output.js';

/** The member names people read: the sandbox as in `ps`. */
const memberName = (name: string): string => (name === SANDBOX_NAME ? '(sandbox)' : name);

/** Colours of the namespace relations on a terminal. */
const RELATION_COLOUR: Record<NamespaceRelation, number> = { shared: 32, own: 33, host: 35 };

/** `ns` as a table: a row per member, a column per namespace type, each cell "inode relation"; then a legend. */
export function namespaceLines(view: NamespaceView, colour: boolean): string[] {
  const header = ['MEMBER', 'PID', ...view.types]; // lower case, as in /proc/<pid>/ns (and so the pid namespace is not the PID column)
  const relations: (NamespaceRelation | undefined)[][] = [];
  const rows = view.members.map((m) => {
    relations.push(['MEMBER', 'PID', ...view.types].map((t) => m.namespaces[t]?.relation));
    return [
      memberName(m.name),
      m.pid === null ? '-' : String(m.pid),
      ...view.types.map((t) => (m.namespaces[t] ? `${m.namespaces[t]!.inode} ${m.namespaces[t]!.relation}` : '-')),
    ];
  });
  const paint = (cell: string, row: number, col: number) => {
    const r = relations[row]?.[col];
    const text = cell.trimEnd();
    return r ? paintText(text, RELATION_COLOUR[r], colour) + cell.slice(text.length) : cell;
  };
  const word = (r: NamespaceRelation) => paintText(r, RELATION_COLOUR[r], colour);
  const via = view.pausePid === null ? 'the pause is not running' : `pause pid ${view.pausePid}`;
  return [
    `Pod ${view.pod}: ${via}`,
    ...tableLines(header, rows, { paint }),
    '',
    `${word('shared')}: the pause's namespace, joined through /proc/<pausePid>/ns/<type>`,
    `${word('own')}: this member's alone (for the pause: the pod's, made for it)`,
    `${word('host')}: the host's (the namespace barepod itself runs in)`,
    `-: not running (or the namespace type is unreadable)`,
  ];
}

const dash = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));

/** A limit for people: bytes as a quantity ("64Mi"), 'max' as it is, unknown as "-". */
const limitText = (v: CgroupLimit | null, bytes: boolean): string => (v === null ? '-' : v === 'max' ? 'max' : bytes ? formatBytesApprox(v) : String(v));

/** "memory 3.2Mi / 64Mi   cpu 0.04s / 500m   pids 2 / 16": a cgroup's usage against its limits. */
export function resourceSummary(n: Pick<CgroupNode, 'limits' | 'usage'>): string {
  const r = <T>(x: CgroupReading<T>) => x.value;
  const mem = `memory ${r(n.usage.memoryBytes) === null ? '-' : formatBytesApprox(r(n.usage.memoryBytes)!)} / ${limitText(r(n.limits.memoryBytes), true)}`;
  const cpuLimit = n.limits.cpuMillicores !== null ? `${n.limits.cpuMillicores}m` : r(n.limits.cpuQuotaUsec) === 'max' ? 'max' : '-';
  const used = r(n.usage.cpuUsageUsec);
  const cpu = `cpu ${used === null ? '-' : `${(used / 1e6).toFixed(2)}s`} / ${cpuLimit}`;
  const pids = `pids ${dash(r(n.usage.pids))} / ${limitText(r(n.limits.pidsMax), false)}`;
  return `${mem}   ${cpu}   ${pids}`;
}

/** `cgroups` as systemd-cgls draws a tree: each cgroup with usage / limit, then its processes. */
export function cgroupTreeLines(view: CgroupTreeView): string[] {
  const where = Object.entries(view.hierarchies)
    .map(([c, dir]) => `${c} ${dir ?? '(not mounted)'}`)
    .join(', ');
  const out = [`Pod ${view.pod}: cgroup v${view.cgroupVersion} (${where})`, 'usage / limit: memory bytes, cpu seconds used / limit in millicores, tasks'];
  const label = (n: CgroupNode) => {
    const what = n.role === 'sandbox' ? ' (sandbox)' : n.role === 'other' ? ' (not a member)' : '';
    return `${n.name}${what}${n.state && n.state !== 'running' ? ` [${n.state}]` : ''}`;
  };
  const walk = (n: CgroupNode, prefix: string, self: string) => {
    out.push(`${self}${label(n)}   ${resourceSummary(n)}`);
    const items: ({ kind: 'proc'; pid: number; command: string[] } | { kind: 'node'; node: CgroupNode })[] = [
      ...n.processes.map((p) => ({ kind: 'proc' as const, ...p })),
      ...n.children.map((c) => ({ kind: 'node' as const, node: c })),
    ];
    items.forEach((it, i) => {
      const last = i === items.length - 1;
      const branch = `${prefix}${last ? '└─' : '├─'}`;
      const next = `${prefix}${last ? '  ' : '│ '}`;
      if (it.kind === 'proc') out.push(`${branch}${it.pid} ${it.command.join(' ')}`);
      else walk(it.node, next, branch);
    });
  };
  walk(view.tree, '', '');
  return out;
}

/** `top` as a table, one process a row. */
export function topLines(processes: TopProcess[]): string[] {
  const rows = processes.map((p) => [
    memberName(p.container),
    String(p.pid),
    String(p.podPid),
    String(p.ppid),
    String(p.uid),
    p.state,
    formatBytesApprox(p.rssBytes),
    p.command.join(' '),
  ]);
  return tableLines(['CONTAINER', 'PID', 'POD PID', 'PPID', 'UID', 'STATE', 'RSS', 'COMMAND'], rows);
}

const percent = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}%`);

/** The cells of one stats row: name, cpu %, memory usage / limit, memory %, pids. */
function statsCells(r: StatsRow, total: boolean): string[] {
  const usage = r.memory.usageBytes === null ? '-' : formatBytesApprox(r.memory.usageBytes);
  const limit = limitText(r.memory.limitBytes, true);
  const from = r.memory.limitFrom === 'pod' && !total ? ' (pod)' : r.memory.limitFrom === 'host' ? ' (host)' : '';
  const name = total ? `${r.name} (pod total)` : `${memberName(r.name)}${r.state === 'running' ? '' : ` [${r.state}]`}`;
  return [name, percent(r.cpu.percent), `${usage} / ${limit}${from}`, percent(r.memory.percent), `${dash(r.pids.current)} / ${limitText(r.pids.limit, false)}`];
}

/** `stats` as a table: every member, then the pod total. */
export function statsTableLines(report: StatsReport): string[] {
  const rows = [...report.members.map((m) => statsCells(m, false)), statsCells(report.total, true)];
  return tableLines(['NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'], rows);
}

/** `stats --watch` on a pipe: one line per member per sample, with the sample's time, as key=value pairs. */
export function statsStreamLines(report: StatsReport): string[] {
  const line = (r: StatsRow, name: string) =>
    [
      report.time,
      name,
      `state=${r.state}`,
      `cpu=${percent(r.cpu.percent)}`,
      `mem=${r.memory.usageBytes === null ? '-' : formatBytesApprox(r.memory.usageBytes)}`,
      `mem_limit=${limitText(r.memory.limitBytes, true)}${r.memory.limitFrom ? `(${r.memory.limitFrom})` : ''}`,
      `mem%=${percent(r.memory.percent)}`,
      `pids=${dash(r.pids.current)}`,
      `pids_limit=${limitText(r.pids.limit, false)}`,
    ].join(' ');
  return [...report.members.map((m) => line(m, `${report.pod}/${memberName(m.name)}`)), line(report.total, `${report.pod}/(pod)`)];
}

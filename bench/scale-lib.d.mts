// Types of bench/scale-lib.mjs (the unit test imports it from TypeScript).
export interface Smaps {
  rss: number;
  pss: number;
  pssAnon: number;
  pssFile: number;
  pssShmem: number;
}
export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
}
export interface KindSum {
  procs: number;
  pss: number;
  rss: number;
  comms: Set<string>;
}
export function parseSmapsRollup(text: string): Smaps;
export function childCpuTicks(statText: string): number;
export function parseProcStat(text: string): { pid: number; comm: string; state: string; ppid: number };
export function selectTree(procs: Array<Pick<Proc, 'pid' | 'ppid' | 'cmdline'>>, marker: string, exclude?: number[]): Set<number>;
export const KINDS: readonly string[];
export function classify(proc: Proc, byPid: Map<number, Proc>): string;
export function sumByKind(rows: Array<{ kind: string; comm: string; pss: number; rss: number }>): Record<string, KindSum>;
export function median(xs: number[]): number;
export function ratio(a: number, b: number): string;
export function pool<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]>;
export function podManifest(name: string, opts: { image: string; pullPolicy?: string; probe: boolean }): string;
export function table(rows: Array<Array<string | number>>): string;

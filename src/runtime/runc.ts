import fs from 'node:fs';
import path from 'node:path';
import { BarepodError, ToolError } from '../errors.js';
import { runTool } from './exec.js';

/** What `runc state` reports for one container. */
export interface RuncState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
}

/**
 * The runc adapter. Every call passes `--root`, so barepod's containers never
 * mix with anyone else's runc state. `runc create` is not here: conmon runs it.
 */
export class Runc {
  constructor(
    readonly bin: string,
    readonly root: string,
  ) {}

  private run(args: string[]): Promise<string> {
    return runTool([this.bin, '--root', this.root, ...args]);
  }

  /** Starts a created container (runs the user's process). */
  async start(id: string): Promise<void> {
    await this.run(['start', id]);
  }

  /** Sends a signal; `all` signals every process of the container's cgroup. */
  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), id, signal]);
  }

  /** Deletes a stopped container's state and leaf cgroup (plain delete: no -f, which sleeps 100 ms first). */
  async delete(id: string): Promise<void> {
    await this.run(['delete', id]);
  }

  /** The container's state, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncState | undefined> {
    try {
      return JSON.parse(await this.run(['state', id])) as RuncState;
    } catch (e) {
      if (e instanceof ToolError && /does not exist|not exist/.test(e.stderr)) return undefined;
      if (e instanceof SyntaxError) throw new BarepodError('tool-failed', `runc state ${id}: unreadable output`);
      throw e;
    }
  }

  /**
   * Whether runc holds state for a container: its directory under --root.
   * A file check, not a `runc state` process: this sits on every teardown path.
   */
  knows(id: string): boolean {
    return fs.existsSync(path.join(this.root, id, 'state.json'));
  }

  /** Every container id under this root (runc's own state directories; no process spawned). */
  ids(): string[] {
    try {
      return fs.readdirSync(this.root).filter((id) => fs.existsSync(path.join(this.root, id, 'state.json')));
    } catch {
      return [];
    }
  }
}

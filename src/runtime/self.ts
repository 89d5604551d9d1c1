import fs from 'node:fs';
import path from 'node:path';

/**
 * How barepod runs itself later (conmon's exit command, a delayed restart):
 * BAREPOD_SELF when set, else the launcher beside the bundle (bin/barepod,
 * which skips Node's slow CA load), else this very Node script.
 */
export function selfArgv(): string[] {
  if (process.env.BAREPOD_SELF) return [process.env.BAREPOD_SELF];
  const script = path.resolve(process.argv[1] ?? '');
  const launcher = path.resolve(path.dirname(script), '..', 'bin', 'barepod');
  if (fs.existsSync(launcher)) return [launcher];
  return [process.execPath, script];
}

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

/**
 * How conmon's exit command and the backoff timer run barepod's handlers
 * (`_exited`, `_restart`): BAREPOD_SELF when set; else this Node on the
 * handler entry beside the running bundle (dist/handler.mjs: the supervision
 * code without the CLI, and no launcher shell in between), which is on a
 * restart's critical path; else selfArgv().
 */
export function handlerArgv(): string[] {
  if (process.env.BAREPOD_SELF) return [process.env.BAREPOD_SELF];
  const script = path.resolve(process.argv[1] ?? '');
  const handler = path.join(path.dirname(script), 'handler.mjs');
  if (script.endsWith('.mjs') && fs.existsSync(handler)) return [process.execPath, handler];
  return selfArgv();
}

/**
 * A shell prefix for a handler run straight on Node: NODE_EXTRA_CA_CERTS
 * moved aside as bin/barepod does (Node would load the certificates at its
 * start, ~60 ms; the handler puts the variable back for what it runs).
 */
export const HANDLER_ENV_SH =
  'if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then BAREPOD_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export BAREPOD_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; fi; ';

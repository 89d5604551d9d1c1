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
 * The shell prefix of a handler's `exec "$@"` (conmon's exit command, the backoff timer), where "$@" is
 * handlerArgv() and the handler's arguments:
 * - NODE_EXTRA_CA_CERTS moved aside as bin/barepod does (Node would load the certificates at its start, ~60 ms;
 *   the handler puts the variable back for what it runs);
 * - when "$@" is Node on dist/handler.mjs and dist/handler.blob fits that Node (it carries the mtime of the Node
 *   that built it, see scripts/bundle.mjs), Node starts from that startup snapshot: the test is made when the
 *   handler runs, so a Node upgraded while pods run gets the plain bundle. BAREPOD_NO_SNAPSHOT=1 turns it off.
 * No program runs in it (only the shell's own tests).
 */
export const HANDLER_PRELUDE_SH =
  'if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then BAREPOD_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export BAREPOD_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; fi; ' +
  'case ${2:-} in *.mjs) b=${2%.mjs}.blob; if [ -z "${BAREPOD_NO_SNAPSHOT:-}" ] && [ -f "$b" ] && [ ! "$b" -nt "$1" ] && [ ! "$b" -ot "$1" ]; then n=$1; shift; set -- "$n" --snapshot-blob "$b" "$@"; fi ;; esac; ';

/**
 * NODE_EXTRA_CA_CERTS as the caller had it: bin/barepod and the exit command move it aside (Node would load the
 * certificates at its start, ~60 ms); the programs barepod runs get it back.
 */
export function restoreExtraCaCerts(): void {
  if (process.env.BAREPOD_EXTRA_CA_CERTS) {
    process.env.NODE_EXTRA_CA_CERTS = process.env.BAREPOD_EXTRA_CA_CERTS;
    delete process.env.BAREPOD_EXTRA_CA_CERTS;
  }
}

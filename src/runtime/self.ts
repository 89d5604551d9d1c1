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
 * The shell function both launchers (bin/barepod, which has a copy that a unit test keeps the same, and
 * HANDLER_PRELUDE_SH) ask whether to start Node from a start-up snapshot: `bp_snapshot_fits NODE BLOB ENTRY`.
 * - Only a blob with the mtime of that Node (scripts/bundle.mjs gives it the mtime of the Node that built it):
 *   another Node refuses it, before any JavaScript runs.
 * - Only a blob that loaded on this machine since it booted: Node also refuses a blob built where V8 was
 *   configured otherwise (another CPU: a VM image or a checkout built on another host, seen on a QEMU guest). The
 *   first call of a boot tries it (`NODE --snapshot-blob BLOB ENTRY --version`) and writes the answer to
 *   BLOB.ok (`ok BOOT_ID` or `no BOOT_ID`); the build writes it for the machine that built it. A caller who cannot
 *   write there tries it at each call.
 * - Never with BAREPOD_NO_SNAPSHOT set.
 * No program runs in it but that one try (the shell's own tests and reads).
 */
export const SNAPSHOT_FITS_SH =
  'bp_snapshot_fits() { ' +
  '[ -z "${BAREPOD_NO_SNAPSHOT:-}" ] && [ -f "$2" ] && [ ! "$2" -nt "$1" ] && [ ! "$2" -ot "$1" ] || return 1; ' +
  'bp_boot=; { read -r bp_boot < /proc/sys/kernel/random/boot_id; } 2>/dev/null; ' +
  'bp_mark=; { read -r bp_mark < "$2.ok"; } 2>/dev/null; ' +
  'case $bp_mark in "ok $bp_boot") return 0 ;; "no $bp_boot") return 1 ;; esac; ' +
  'if "$1" --snapshot-blob "$2" "$3" --version </dev/null >/dev/null 2>&1; then bp_mark="ok $bp_boot"; else bp_mark="no $bp_boot"; fi; ' +
  '{ echo "$bp_mark" > "$2.ok"; } 2>/dev/null; ' +
  '[ "${bp_mark%% *}" = ok ]; }; ';

/**
 * The shell prefix of a handler's `exec "$@"` (conmon's exit command, the backoff timer), where "$@" is
 * handlerArgv() and the handler's arguments:
 * - NODE_EXTRA_CA_CERTS moved aside as bin/barepod does (Node would load the certificates at its start, ~60 ms;
 *   the handler puts the variable back for what it runs);
 * - when "$@" is Node on dist/handler.mjs and dist/handler.blob fits that Node and this machine
 *   (SNAPSHOT_FITS_SH), Node starts from that startup snapshot: the test is made when the handler runs, so a Node
 *   upgraded while pods run gets the plain bundle. BAREPOD_NO_SNAPSHOT=1 turns it off.
 */
export const HANDLER_PRELUDE_SH =
  'if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then BAREPOD_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export BAREPOD_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; fi; ' +
  SNAPSHOT_FITS_SH +
  'case ${2:-} in *.mjs) b=${2%.mjs}.blob; if bp_snapshot_fits "$1" "$b" "$2"; then n=$1; shift; set -- "$n" --snapshot-blob "$b" "$@"; fi ;; esac; ';

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

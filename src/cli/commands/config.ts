import type { Command } from 'commander';
import { collect } from '../common.js';

/** The commands' work is loaded when one runs: other commands start without it. */
type Actions = typeof import('./config-actions.js');
const load = (): Promise<Actions> => import('./config-actions.js');
/** An action's parameters after its kind. */
type AfterKind<F> = F extends (kind: never, ...rest: infer R) => unknown ? R : never;

/** `barepod configmap ls|inspect|rm` and `barepod secret ls|inspect|rm|create`: the ConfigMaps and Secrets pods take files and env from. */
export function registerConfig(program: Command): void {
  for (const kind of ['ConfigMap', 'Secret'] as const) {
    const word = kind === 'Secret' ? 'secret' : 'configmap';
    const plural = kind === 'Secret' ? 'Secrets' : 'ConfigMaps';
    const group = program
      .command(word)
      .description(
        kind === 'Secret'
          ? 'the Secrets pods take files (secret volumes) and env from: stored by up -f or secret create, 0600 in 0700 dirs; values never shown unless asked'
          : 'the ConfigMaps pods take files (configMap volumes) and env from: stored by up -f (and --configmap FILE)',
      );

    group
      .command('ls')
      .alias('list')
      .description(`list the ${plural}: name, ${kind === 'Secret' ? 'type, ' : ''}number of keys, age, who made it`)
      .option('--json', 'print as JSON')
      .addHelpText('after', `\nExamples:\n  barepod ${word} ls\n  barepod ${word} ls --json`)
      .action(async (...a: AfterKind<Actions['listAction']>) => (await load()).listAction(kind, ...a));

    const inspect = group
      .command('inspect')
      .argument('<names...>', `${kind} names`)
      .description(
        kind === 'Secret'
          ? 'print Secrets as stored (JSON): keys and their sizes, type, who made them; values only with --showsecret'
          : 'print ConfigMaps as stored (JSON), with who made them and when',
      )
      .option('--json', 'print as JSON (the default)');
    if (kind === 'Secret') inspect.option('--showsecret', "show the values too (base64, as Kubernetes' data)");
    inspect
      .addHelpText(
        'after',
        kind === 'Secret'
          ? `\nExamples:\n  barepod secret inspect db\n  barepod secret inspect db --showsecret | jq -r '.[0].data.password' | base64 -d`
          : `\nExamples:\n  barepod configmap inspect app-config\n  barepod configmap inspect app-config | jq '.[0].data'`,
      )
      .action(async (...a: AfterKind<Actions['inspectAction']>) => (await load()).inspectAction(kind, ...a));

    group
      .command('rm')
      .alias('remove')
      .argument('<names...>', `${kind} names`)
      .description(`remove ${plural}; pods that mount one keep the files they have (as in Kubernetes)`)
      .option('-i, --ignore', 'a name that is not stored is not an error')
      .option('--json', 'print [{name, outcome: removed|not-found}] as JSON')
      .addHelpText('after', `\nExamples:\n  barepod ${word} rm ${kind === 'Secret' ? 'db' : 'app-config'}\n  barepod ${word} rm a b --ignore`)
      .action(async (...a: AfterKind<Actions['removeAction']>) => (await load()).removeAction(kind, ...a));
  }

  program.commands
    .find((c) => c.name() === 'secret')!
    .command('create')
    .argument('<name>', 'the Secret name (a DNS-1123 subdomain)')
    .description('store a Secret of literal values and files (as kubectl create secret generic); running pods that mount it get its files')
    .option('--from-literal <key=value>', 'a key and its value (repeatable)', collect)
    .option('--from-file <[key=]file>', "a file's content, under its base name or the key given (repeatable)", collect)
    .option('--type <type>', 'the Secret type', 'Opaque')
    .option('--replace', 'replace a Secret of that name (an immutable one is never replaced)')
    .option('--json', 'print {kind, name, outcome} as JSON')
    .addHelpText(
      'after',
      '\nA value given with --from-literal is visible in the process list while the\ncommand runs: prefer --from-file for real secrets.\n\nExamples:\n  barepod secret create db --from-file password=./db-password.txt\n  barepod secret create api --from-literal token=abc123 --replace\n  barepod secret create tls --type kubernetes.io/tls --from-file tls.crt=./cert.pem --from-file tls.key=./key.pem',
    )
    .action(async (...a: Parameters<Actions['createSecretAction']>) => (await load()).createSecretAction(...a));
}

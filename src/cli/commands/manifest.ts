import type { Command } from 'commander';
import { collect, explainHook, explainOption } from '../common.js';

/** The commands' work is loaded when one runs (with the YAML parser): other commands start without it. */
type Actions = typeof import('./manifest-actions.js');
const load = (): Promise<Actions> => import('./manifest-actions.js');

/** `up`, `down`, `export`, `wait`: Kubernetes Pod manifests. */
export function registerManifest(program: Command): void {
  program
    .command('up')
    .description(
      'create and start the pods of a manifest (one or more YAML documents: Pod, Deployment, DaemonSet, PersistentVolumeClaim; objects before pods); a no-op for a pod already up from the same manifest (unchanged); a pod of the same manifest that lacks containers (its up was killed) gets them (repaired)',
    )
    .requiredOption('-f, --file <file>', 'the manifest (- for stdin)')
    .option('--dry-run', 'validate and print the plan (the steps --explain would narrate, bundles, namespaces, cgroups, volumes) without running anything')
    .option('--replace', 'replace a pod whose manifest changed (down, then up)')
    .option('--lenient', 'unsupported fields are warnings instead of errors')
    .option(
      '--configmap <file>',
      'also store the ConfigMaps and Secrets of this file (repeatable; as podman kube play --configmap); down -f of the manifest does not remove them',
      collect,
    )
    .option('--tls-verify <bool>', 'for pulls: false for a local plain-HTTP registry')
    .option('--wait', 'return once every pod is ready (all its app containers running)')
    .option('--timeout <duration>', 'with --wait, and for init containers: give up after this long', '5m')
    .option('--json', 'print the outcome (or the plan) as JSON')
    .addOption(explainOption())
    .hook('preAction', explainHook)
    .addHelpText(
      'after',
      `
Examples:
  barepod up -f pod.yaml
  barepod up -f pod.yaml --dry-run
  barepod up -f pod.yaml --wait --timeout 60s
  barepod up -f pod.yaml --replace
  barepod up -f pod.yaml --explain 2> explain.txt   # what it does, step by step: runc, conmon, CNI, each config.json
  cat pod.yaml | barepod up -f -

Images are pulled by each container's imagePullPolicy, as in Kubernetes:
IfNotPresent (the default for a tagged image) uses the image store's copy,
Always (the default for :latest or no tag) pulls a registry name, Never never
pulls. A localhost/ name (what barepod import and pull --name SHORT store) is
a local image, never pulled: image: localhost/myimg runs an imported image
offline (as does image: myimg:1, IfNotPresent).`,
    )
    .action(async (...a: Parameters<Actions['upAction']>) => (await load()).upAction(...a));

  program
    .command('down')
    .description(
      "stop and remove the pods of a manifest (its Pods and its Deployments' and DaemonSets' pods), or pods by name: everything they left goes (runc state, mounts, cgroups, volumes of type emptyDir); a PersistentVolumeClaim's data is kept unless --volumes",
    )
    .argument('[pods...]', 'pod names (instead of -f)')
    .option('-f, --file <file>', 'the manifest whose pods to remove (- for stdin)')
    .option('-t, --time <seconds>', "grace period (default: each pod's terminationGracePeriodSeconds)")
    .option(
      '--volumes',
      "with -f: remove the data of the file's PersistentVolumeClaims too (the named volumes its claims made; one another pod still uses is kept)",
    )
    .option(
      '--json',
      'print [{pod, outcome: removed|not-found}] as JSON, then {object, outcome} for each volume with --volumes (and an error as the JSON error object)',
    )
    .addOption(explainOption())
    .hook('preAction', explainHook)
    .addHelpText(
      'after',
      '\nA pod that is not there is already down: not an error.\n\nExamples:\n  barepod down -f pod.yaml\n  barepod down -f app.yaml --volumes  # and the data of its PersistentVolumeClaims\n  barepod down web db --time 5\n  barepod down web --explain         # each signal, runc delete, CNI DEL, umount and rmdir\n  barepod down -f pod.yaml --json',
    )
    .action(async (...a: Parameters<Actions['downAction']>) => (await load()).downAction(...a));

  program
    .command('export')
    .argument('<pod>')
    .description('print a pod as a Kubernetes v1/Pod manifest (the one it was made from, or one built from its definition)')
    .option('--json', 'JSON instead of YAML')
    .addHelpText('after', '\nExamples:\n  barepod export web > web.yaml\n  barepod export web --json | jq .spec.containers')
    .action(async (...a: Parameters<Actions['exportAction']>) => (await load()).exportAction(...a));

  program
    .command('wait')
    .argument('<pods...>')
    .description('block until pods are ready (every app container running) or deleted; on timeout, say why not and exit 1')
    .option('--for <condition>', 'ready or delete', 'ready')
    .option('--timeout <duration>', 'give up after this long', '30s')
    .option('--json', 'print [{pod, condition, met}] as JSON once every pod meets it (and a timeout as the JSON error object)')
    .addHelpText(
      'after',
      '\nExamples:\n  barepod wait web --for ready --timeout 30s\n  barepod wait web db --for delete\n  barepod wait web --json > wait.json || jq -r .error.message wait.json',
    )
    .action(async (...a: Parameters<Actions['waitAction']>) => (await load()).waitAction(...a));
}

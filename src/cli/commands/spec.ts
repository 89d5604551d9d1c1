import type { Command } from 'commander';
import { SANDBOX_NAME } from '../../plan/pod-plan.js';
import { readSpec } from '../../pod/views.js';
import { runtimeFor } from '../common.js';

/** `barepod spec`: the exact config.json barepod generated, for teaching and debugging. */
export function registerSpec(program: Command): void {
  program
    .command('spec')
    .argument('<pod>', 'pod name')
    .argument('[container]', 'container name (default: the pause sandbox)')
    .description('print the OCI config.json barepod wrote for a container (or the sandbox)')
    .addHelpText('after', '\nExamples:\n  barepod spec web app\n  barepod spec web | jq .linux.namespaces')
    .action((pod: string, container: string | undefined, _o: unknown, cmd: Command) => {
      process.stdout.write(readSpec(runtimeFor(cmd), pod, container ?? SANDBOX_NAME));
    });
}

/**
 * `vggkit serve [folder]`: the live dashboard over a folder of runs and sweeps (src/serve/).
 * Prints the address to open (with the token when one is required) and serves until interrupted.
 */
import type { Command } from 'commander';
import { lazyAction } from './run-command.js';

export interface ServeFlags {
  readonly port?: string;
  readonly host?: string;
  readonly token?: string;
  readonly open?: boolean;
  readonly json?: boolean;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a live dashboard of the runs and sweeps in a folder (read-only)')
    .argument('[folder]', 'folder of run and sweep folders', 'runs')
    .option('--port <n>', 'port to listen on (0: any free port)', '8080')
    .option(
      '--host <address>',
      'address to bind; anything but loopback requires a token',
      '127.0.0.1',
    )
    .option('--token <token>', 'token every request must carry (generated off loopback)')
    .option('--open', 'open the dashboard in the default browser')
    .option('--json', 'print the address as one JSON line on stdout')
    .action(lazyAction(async () => (await import('./actions/serve.js')).serve));
}

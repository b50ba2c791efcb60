/**
 * `vggkit serve [folder]`: the live dashboard over a folder of runs and sweeps (src/serve/).
 * Prints the address to open (with the token when one is required) and serves until interrupted.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { startServer } from '../serve/server.js';
import { invalidOption } from '../util/errors.js';
import { parseInteger, printJson } from './common.js';
import { runCommand } from './run-command.js';

interface ServeFlags {
  readonly port?: string;
  readonly host?: string;
  readonly token?: string;
  readonly open?: boolean;
  readonly json?: boolean;
}

/** The desktop's own "open this URL" command; failing to find one is not an error. */
function openBrowser(url: string): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { detached: true, stdio: 'ignore' });
  child.on('error', () => process.stderr.write(`vggkit: could not open a browser; open ${url}\n`));
  child.unref();
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
    .action(
      runCommand(async (folder: string, flags: ServeFlags) => {
        const port = parseInteger('--port', flags.port, 8080, 0);
        if (port > 65535)
          throw invalidOption('--port', 'a port number from 0 to 65535', flags.port);
        if (flags.token !== undefined && flags.token.length < 8)
          throw invalidOption('--token', 'at least 8 characters', flags.token);
        const server = await startServer({
          root: folder,
          port,
          host: flags.host ?? '127.0.0.1',
          ...(flags.token === undefined ? {} : { token: flags.token }),
        });
        if (flags.json === true)
          printJson({
            url: server.openUrl,
            host: server.host,
            port: server.port,
            root: server.root,
          });
        else {
          process.stdout.write(`vggkit serve: ${server.root}\n  open ${server.openUrl}\n`);
          if (server.token !== undefined && flags.token === undefined)
            process.stdout.write(
              `  (${server.host} is not a loopback address: every request needs this token)\n`,
            );
        }
        if (flags.open === true) openBrowser(server.openUrl);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            void server.close().then(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}

/** What `vggkit serve` does (declared in ../serve.ts): start the dashboard, print where it is, serve until stopped. */
import { spawn } from 'node:child_process';
import { startServer } from '../../serve/server.js';
import { invalidOption } from '../../util/errors.js';
import { parseInteger, printJson } from '../common.js';
import type { ServeFlags } from '../serve.js';

/** The desktop's own "open this URL" command; failing to find one is not an error. */
function openBrowser(url: string): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { detached: true, stdio: 'ignore' });
  child.on('error', () => process.stderr.write(`vggkit: could not open a browser; open ${url}\n`));
  child.unref();
}

export async function serve(folder: string, flags: ServeFlags): Promise<void> {
  const port = parseInteger('--port', flags.port, 8080, 0);
  if (port > 65535) throw invalidOption('--port', 'a port number from 0 to 65535', flags.port);
  if (flags.token !== undefined && flags.token.length < 8)
    throw invalidOption('--token', 'at least 8 characters', flags.token);
  const server = await startServer({
    root: folder,
    port,
    host: flags.host ?? '127.0.0.1',
    ...(flags.token === undefined ? {} : { token: flags.token }),
  });
  if (flags.json === true)
    printJson({ url: server.openUrl, host: server.host, port: server.port, root: server.root });
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
}

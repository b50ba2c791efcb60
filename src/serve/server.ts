/**
 * `vggkit serve`: a read-only HTTP server (Fastify) over a folder of runs and sweeps.
 *
 * Routes (GET only; nothing writes, deletes or runs anything):
 *   /                   the runs list (client/live.js polls /api/runs)
 *   /run/<path>         a run page; ?section=outputs returns only its results section
 *   /compare?run=a&run=b  runs overlaid
 *   /sweep/<path>       a sweep page
 *   /files/<path>       a file under the folder, as is (report.html, thumbnails, logs)
 *   /api/runs           the list as JSON;  /api/run/<path>  a run's RunView as JSON
 *   /api/events/<path>  a run's RunView after every change, as Server-Sent Events
 *   /assets/<name>      the chart library and the dashboard's scripts
 * Every path after a prefix goes through safe-path.ts (404 for anything leaving the folder) and
 * every request through auth.ts (token off loopback).
 */
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { VggkitError } from '../util/errors.js';
import { authorize, generateToken, isLoopback } from './auth.js';
import { LiveRuns, RunTail } from './live.js';
import { comparePage, runPage, runsListPage, sweepPage } from './pages.js';
import { FolderIndex } from './runs.js';
import { resolveUnder } from './safe-path.js';
import { SWEEP_FILE } from '../sweep/results.js';

export interface ServeOptions {
  /** The folder to serve. */
  readonly root: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Required of every request when set; generated when the host is not a loopback address. */
  readonly token?: string;
}

export interface RunningServer {
  readonly url: string;
  /** The URL with the token, to print and open. */
  readonly openUrl: string;
  readonly token: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly root: string;
  close(): Promise<void>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
};

function assetFiles(): Readonly<Record<string, { file: string; type: string }>> {
  const require = createRequire(import.meta.url);
  const js = 'text/javascript; charset=utf-8';
  return {
    'uPlot.iife.min.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: js },
    'uPlot.min.css': {
      file: require.resolve('uplot/dist/uPlot.min.css'),
      type: 'text/css; charset=utf-8',
    },
    'charts.js': {
      file: fileURLToPath(new URL('../report/client/charts.js', import.meta.url)),
      type: js,
    },
    'live.js': { file: fileURLToPath(new URL('./client/live.js', import.meta.url)), type: js },
  };
}

/** The raw (still encoded) rest of the URL path after `prefix`, query removed. */
function rest(request: FastifyRequest, prefix: string): string {
  const path = (request.raw.url ?? '').split('?')[0] as string;
  return path.startsWith(prefix) ? path.slice(prefix.length) : '\0';
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).type('text/plain; charset=utf-8').send('Not found\n');
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  let root: string;
  try {
    root = await realpath(options.root);
    if (!(await stat(root)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new VggkitError('NOT_FOUND', `${options.root}: expected a folder of runs to serve`, {
      file: options.root,
    });
  }
  const token = options.token ?? (isLoopback(host) ? undefined : generateToken());
  const index = new FolderIndex(root);
  const live = new LiveRuns();
  const assets = assetFiles();
  const app: FastifyInstance = Fastify({
    logger: false,
    forceCloseConnections: true,
    // A URL the router cannot decode (`%zz`) names no file either: the same 404 as any other.
    frameworkErrors: (_error, _request, reply) => void notFound(reply),
  });

  app.addHook('onRequest', async (request, reply) => {
    const query = (request.query as Record<string, unknown>).token;
    const decision = authorize(
      {
        query: typeof query === 'string' ? query : undefined,
        cookie: request.headers.cookie,
        authorization: request.headers.authorization,
        host: request.headers.host,
      },
      token,
    );
    // The token may sit in the address bar: never send it on to another site.
    void reply.header('Referrer-Policy', 'no-referrer').header('X-Content-Type-Options', 'nosniff');
    if (!decision.ok)
      return reply
        .code(decision.status)
        .type('text/plain; charset=utf-8')
        .send(`${decision.reason}\n`);
    if (decision.setCookie !== undefined) void reply.header('Set-Cookie', decision.setCookie);
  });

  app.setNotFoundHandler((_request, reply) => notFound(reply));

  const html = (reply: FastifyReply, body: string): FastifyReply =>
    reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(body);

  /** The run folder a route names, or undefined (404). */
  const runDir = async (request: FastifyRequest, prefix: string): Promise<string | undefined> => {
    const dir = await resolveUnder(root, rest(request, prefix));
    if (dir === undefined) return undefined;
    const isDir = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    return isDir ? dir : undefined;
  };
  const urlPathOf = (dir: string): string =>
    dir === root
      ? ''
      : dir
          .slice(root.length + 1)
          .split(/[\\/]/)
          .join('/');

  app.get('/', async (_request, reply) => html(reply, runsListPage(options.root)));

  app.get('/api/runs', async (_request, reply) =>
    reply.header('Cache-Control', 'no-store').send(await index.list()),
  );

  app.get('/run/*', async (request, reply) => {
    const dir = await runDir(request, '/run/');
    if (dir === undefined) return notFound(reply);
    const tail = new RunTail(dir);
    await tail.refresh();
    const section = (request.query as Record<string, unknown>).section;
    return html(
      reply,
      await runPage(
        dir,
        urlPathOf(dir),
        tail.view(),
        section === 'outputs' ? 'outputs' : undefined,
      ),
    );
  });

  app.get('/api/run/*', async (request, reply) => {
    const dir = await runDir(request, '/api/run/');
    if (dir === undefined) return notFound(reply);
    const tail = new RunTail(dir);
    await tail.refresh();
    return reply.header('Cache-Control', 'no-store').send(tail.view());
  });

  app.get('/api/events/*', async (request, reply) => {
    const dir = await runDir(request, '/api/events/');
    if (dir === undefined) return notFound(reply);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
    });
    res.write('retry: 1000\n\n');
    const unsubscribe = await live.subscribe(dir, (view) => {
      res.write(`event: view\ndata: ${JSON.stringify(view)}\n\n`);
    });
    // A comment now and then keeps proxies and idle timeouts from closing a quiet stream.
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  app.get('/compare', async (request, reply) => {
    const raw = (request.query as Record<string, unknown>).run;
    const names = (Array.isArray(raw) ? raw : [raw]).filter(
      (r): r is string => typeof r === 'string',
    );
    const runs: { dir: string; urlPath: string }[] = [];
    for (const name of names) {
      // Each name is a path under the folder, checked as any URL path is.
      const dir = await resolveUnder(root, name.split('/').map(encodeURIComponent).join('/'));
      if (dir === undefined) return notFound(reply);
      runs.push({ dir, urlPath: urlPathOf(dir) });
    }
    if (runs.length === 0) return notFound(reply);
    return html(reply, await comparePage(runs));
  });

  app.get('/sweep/*', async (request, reply) => {
    const dir = await runDir(request, '/sweep/');
    if (dir === undefined) return notFound(reply);
    const isSweep = await stat(join(dir, SWEEP_FILE)).then(
      () => true,
      () => false,
    );
    if (!isSweep) return notFound(reply);
    return html(reply, await sweepPage(dir, urlPathOf(dir)));
  });

  app.get('/files/*', async (request, reply) => {
    const file = await resolveUnder(root, rest(request, '/files/'));
    if (file === undefined) return notFound(reply);
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) return notFound(reply);
    return reply
      .type(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream')
      .header('Content-Length', info.size)
      .header('Cache-Control', 'no-cache')
      .send(createReadStream(file));
  });

  app.get('/assets/:name', async (request, reply) => {
    const asset = assets[(request.params as { name: string }).name];
    if (asset === undefined) return notFound(reply);
    return reply
      .type(asset.type)
      .header('Cache-Control', 'no-cache')
      .send(await readFile(asset.file));
  });

  await app.listen({ host, port: options.port ?? 8080 });
  const address = app.server.address();
  const port =
    typeof address === 'object' && address !== null ? address.port : (options.port ?? 8080);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}/`;
  return {
    url,
    openUrl: token === undefined ? url : `${url}?token=${token}`,
    token,
    host,
    port,
    root,
    async close() {
      live.stop();
      await app.close();
    },
  };
}

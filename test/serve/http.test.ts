/**
 * `vggkit serve` over HTTP on a free loopback port: only files under the served folder are
 * reachable (traversal in every spelling and symlinks out answer 404), nothing but GET is served,
 * off loopback every request needs the token, a half-written or corrupt events line is named and
 * the page still works, the run list derives each run's status from its folder, and the event
 * stream pushes a new epoch without being asked.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { formatEventLine } from '../../src/train/callbacks/events-log.js';
import type { RunView } from '../../src/serve/live.js';
import type { FolderListing } from '../../src/serve/runs.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { deadPid, epochRecords, writeRun, writeSweep } from './fixtures.js';

let dir = '';
let root = '';
let server: RunningServer;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path sent exactly as written (no client-side normalisation of `..`). */
function get(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-serve-'));
  root = join(dir, 'runs');
  await writeRun(join(root, 'done'), { epochs: 3, done: 3, end: 'finished' });
  await writeRun(join(root, 'early'), { epochs: 6, done: 2, end: { by: 'early_stopping' } });
  // The process died mid-epoch while writing a line: crashed, with a truncated last record.
  await writeRun(join(root, 'crashed'), {
    epochs: 5,
    done: 2,
    pid: deadPid(),
    trailing: '{"type":"batch_end","time":17',
  });
  await writeRun(join(root, 'live'), { epochs: 4, done: 1 });
  await writeSweep(join(root, 'sweep-a'), 3);
  await writeFile(join(dir, 'secret.txt'), 'outside the served folder');
  await mkdir(join(dir, 'elsewhere'));
  await writeFile(join(dir, 'elsewhere', 'x.txt'), 'outside too');
  await symlink(join(dir, 'secret.txt'), join(root, 'link-to-secret.txt'));
  await symlink(join(dir, 'elsewhere'), join(root, 'link-to-elsewhere'));
  await symlink(join(root, 'done', 'config.json'), join(root, 'link-inside.json'));
  server = await startServer({ root, port: 0 });
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('files under the folder are served; traversal, encoded slashes and symlinks out are 404', async () => {
  const ok = await get(server.port, '/files/done/config.json');
  assert.equal(ok.status, 200);
  assert.match(ok.headers['content-type'] as string, /application\/json/);
  assert.equal((await get(server.port, '/files/link-inside.json')).status, 200);
  for (const path of [
    '/files/../secret.txt',
    '/files/done/../../secret.txt',
    '/files/%2e%2e/secret.txt',
    '/files/%2e%2e%2fsecret.txt',
    '/files/..%2fsecret.txt',
    '/files/done%2fconfig.json',
    '/files/done%5cconfig.json',
    '/files/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
    '/files//etc/passwd',
    `/files/${encodeURIComponent(join(dir, 'secret.txt'))}`,
    '/files/link-to-secret.txt',
    '/files/link-to-elsewhere/x.txt',
    '/files/done/%00config.json',
    '/files/%zz',
    '/files/done',
    '/run/../',
    '/run/%2e%2e',
    '/api/events/..%2f..%2ftmp',
    '/sweep/done',
    '/compare?run=../secret.txt',
    '/compare?run=link-to-elsewhere',
  ]) {
    const reply = await get(server.port, path);
    assert.equal(reply.status, 404, `${path}: ${reply.status} ${reply.body.slice(0, 80)}`);
    assert.doesNotMatch(reply.body, /outside/);
  }
});

test('read-only: anything but GET is refused', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const reply = await get(server.port, '/files/done/config.json', { method });
    assert.equal(reply.status, 404, method);
  }
});

test('the run list derives each status from the run folder', async () => {
  const reply = await get(server.port, '/api/runs');
  assert.equal(reply.status, 200);
  const listing = JSON.parse(reply.body) as FolderListing;
  const byName = new Map(listing.runs.map((r) => [r.name, r]));
  assert.deepEqual(
    [...byName.keys()].sort(),
    ['crashed', 'done', 'early', 'live'],
    'sweep trials are listed on the sweep page, not here',
  );
  assert.equal(byName.get('done')?.status, 'finished');
  assert.equal(byName.get('done')?.epochsDone, 3);
  assert.equal(byName.get('early')?.status, 'stopped');
  assert.equal(byName.get('early')?.stoppedBy, 'early_stopping');
  assert.equal(byName.get('crashed')?.status, 'crashed');
  assert.match(byName.get('crashed')?.problems.join() ?? '', /incomplete/);
  assert.equal(byName.get('live')?.status, 'running', 'this process wrote its fit_start');
  assert.equal(byName.get('live')?.contract, 'caffe 224x224');
  assert.deepEqual(
    listing.sweeps.map((s) => [s.name, s.trials]),
    [['sweep-a', 3]],
  );
});

test('a truncated or corrupt events line is named and the page still renders what came before', async () => {
  const crashed = join(root, 'crashed');
  await appendFile(join(crashed, 'events.jsonl'), '\n{"type":"epoch_end","time":1,"epoch":');
  const view = JSON.parse((await get(server.port, '/api/run/crashed')).body) as RunView;
  assert.equal(view.status, 'crashed');
  assert.equal(view.epochsDone, 2);
  assert.match(view.problems.join('\n'), /line \d+ is not a complete event record/);
  assert.match(view.problems.join('\n'), /ends in an incomplete line/);
  const loss = view.charts.find((c) => c.id === 'loss');
  assert.ok(loss?.kind === 'line');
  assert.deepEqual(loss.x, [1, 2]);
  const page = await get(server.port, '/run/crashed');
  assert.equal(page.status, 200);
  assert.match(page.body, /ends in an incomplete line/);
  assert.match(page.body, /<figure class="vk-chart" data-chart-id="loss">/);
});

test('a run folder from before events.jsonl shows its history.json', async () => {
  const old = join(root, 'from-history');
  await writeRun(old, { epochs: 3, done: 3, end: 'finished' });
  await rm(join(old, 'events.jsonl'));
  await writeFile(join(old, 'model.onnx'), 'stand-in');
  const view = JSON.parse((await get(server.port, '/api/run/from-history')).body) as RunView;
  assert.equal(view.status, 'finished');
  assert.equal(view.epochsDone, 3);
  const loss = view.charts.find((c) => c.id === 'loss');
  assert.ok(loss?.kind === 'line');
  assert.deepEqual(loss.x, [1, 2, 3]);
  await rm(old, { recursive: true });
});

test('the event stream pushes each new epoch as it is appended', async () => {
  const file = join(root, 'live', 'events.jsonl');
  const views: RunView[] = [];
  let wake: () => void = () => undefined;
  const req = request({ host: '127.0.0.1', port: server.port, path: '/api/events/live' });
  const closed = new Promise<void>((resolve) => req.on('close', () => resolve()));
  req.on('response', (res) => {
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/event-stream/);
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (/^event: view$/m.test(message) && data !== undefined) {
          views.push(JSON.parse(data) as RunView);
          wake();
        }
      }
    });
  });
  req.end();
  const until = async (check: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 300 && !check(); i++)
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    assert.ok(check(), what);
  };
  try {
    await until(() => views.length > 0, 'a first view on connecting');
    assert.equal(views[0]?.epochsDone, 1);
    assert.equal(views[0]?.status, 'running');
    await appendFile(file, epochRecords(1, 4, 3).map(formatEventLine).join(''));
    await until(() => views.some((v) => v.epochsDone === 2), 'the second epoch pushed');
    const latest = views[views.length - 1] as RunView;
    const loss = latest.charts.find((c) => c.id === 'loss');
    assert.ok(loss?.kind === 'line');
    assert.equal(loss.x.length, 2, 'one point per finished epoch');
    const batches = latest.charts.find((c) => c.id === 'batch-loss');
    assert.ok(batches?.kind === 'line');
    assert.equal(batches.x.length, 6, 'every batch so far');
    await appendFile(
      file,
      formatEventLine({ type: 'fit_end', time: Date.now(), epochsCompleted: 2, stopped: null }),
    );
    await until(() => views.some((v) => v.status === 'finished'), 'the end pushed');
  } finally {
    req.destroy();
    await closed;
  }
});

test('the sweep page lists every trial and links each to its run page', async () => {
  const page = await get(server.port, '/sweep/sweep-a');
  assert.equal(page.status, 200);
  for (const id of ['000', '001', '002'])
    assert.match(page.body, new RegExp(`<a href="/run/sweep-a/trials/${id}">${id}</a>`));
  assert.match(page.body, /vggkit train \/data\/pets --config sweep-a\/best-config\.json/);
  assert.equal((await get(server.port, '/run/sweep-a/trials/001')).status, 200);
});

test('the dashboard host check: a loopback server without a token refuses other Host names', async () => {
  const reply = await get(server.port, '/', { headers: { Host: 'attacker.example:80' } });
  assert.equal(reply.status, 403);
});

test('off loopback a token is required: 401 without, accepted as ?token=, cookie or Bearer', async () => {
  // Bound to every interface, asked only over loopback.
  const open = await startServer({ root, host: '0.0.0.0', port: 0 });
  try {
    assert.ok(open.token !== undefined && open.token.length >= 32, 'a token is generated');
    assert.match(open.openUrl, new RegExp(`\\?token=${open.token}$`));
    for (const path of ['/', '/api/runs', '/files/done/config.json', '/api/events/live']) {
      const reply = await get(open.port, path);
      assert.equal(reply.status, 401, path);
      assert.match(reply.body, /token/);
    }
    assert.equal((await get(open.port, '/api/runs?token=wrong')).status, 401);
    assert.equal(
      (await get(open.port, '/', { headers: { Authorization: 'Bearer wrong' } })).status,
      401,
    );
    const withQuery = await get(open.port, `/?token=${open.token}`);
    assert.equal(withQuery.status, 200);
    const cookie = String(withQuery.headers['set-cookie']).split(';')[0] as string;
    assert.match(cookie, /^vggkit_token=/);
    assert.equal((await get(open.port, '/api/runs', { headers: { Cookie: cookie } })).status, 200);
    assert.equal(
      (await get(open.port, '/api/runs', { headers: { Authorization: `Bearer ${open.token}` } }))
        .status,
      200,
    );
  } finally {
    await open.close();
  }
  const given = await startServer({ root, port: 0, token: 'a-given-token' });
  try {
    assert.equal(
      (await get(given.port, '/')).status,
      401,
      'a given token is required on loopback too',
    );
    assert.equal((await get(given.port, '/?token=a-given-token')).status, 200);
  } finally {
    await given.close();
  }
});

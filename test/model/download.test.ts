import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  ensureWeightsFile,
  weightsPath,
  type DownloadableWeights,
} from '../../src/model/download.js';
import { rejectsWith } from '../helpers/errors.js';

const payload = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7 + 3) % 256));
const sha256 = createHash('sha256').update(payload).digest('hex');
const md5 = createHash('md5').update(payload).digest('hex');

let server: Server;
let base: string;
let requests = 0;
let cacheDir: string;
const cacheDirs: string[] = [];

before(async () => {
  server = createServer((request, response) => {
    requests++;
    if (request.url === '/weights.bin') {
      response.writeHead(200, { 'content-length': String(payload.length) });
      response.end(payload);
    } else if (request.url === '/gzip') {
      // Compressed on the wire: Content-Length counts the gzip bytes, fetch yields the decoded ones.
      const body = gzipSync(payload);
      response.writeHead(200, {
        'content-encoding': 'gzip',
        'content-length': String(body.length),
      });
      response.end(body);
    } else if (request.url === '/chunked') {
      response.writeHead(200);
      response.write(payload.subarray(0, 20_000));
      response.end(payload.subarray(20_000));
    } else if (request.url === '/moved') {
      response.writeHead(302, { location: '/weights.bin' });
      response.end();
    } else if (request.url === '/cut') {
      response.writeHead(200, { 'content-length': String(payload.length) });
      response.write(payload.subarray(0, 1000), () => response.destroy());
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(async () => {
  requests = 0;
  cacheDir = await mkdtemp(join(tmpdir(), 'vggkit-dl-'));
  cacheDirs.push(cacheDir);
});

function entry(overrides: Partial<DownloadableWeights> = {}): DownloadableWeights {
  return {
    url: `${base}/weights.bin`,
    checksum: { algorithm: 'sha256', hex: sha256 },
    fileName: 'w.bin',
    ...overrides,
  };
}

describe('ensureWeightsFile', () => {
  test('downloads, verifies and reports progress up to the full size', async () => {
    const progress: [number, number | undefined][] = [];
    const path = await ensureWeightsFile(entry(), {
      cacheDir,
      onProgress: (r, t) => progress.push([r, t]),
    });
    assert.equal(path, join(cacheDir, 'weights', 'w.bin'));
    assert.deepEqual(await readFile(path), payload);
    assert.deepEqual(progress.at(-1), [payload.length, payload.length]);
    assert.deepEqual(await readdir(join(cacheDir, 'weights')), ['w.bin']);
  });

  test('md5 checksums work too', async () => {
    const path = await ensureWeightsFile(entry({ checksum: { algorithm: 'md5', hex: md5 } }), {
      cacheDir,
    });
    assert.deepEqual(await readFile(path), payload);
  });

  test('reuses a cached file whose checksum matches, without the network', async () => {
    await ensureWeightsFile(entry(), { cacheDir });
    assert.equal(requests, 1);
    await ensureWeightsFile(entry(), { cacheDir });
    await ensureWeightsFile(entry(), { cacheDir, offline: true });
    assert.equal(requests, 1);
  });

  test('replaces a cached file whose checksum does not match', async () => {
    const path = weightsPath(entry(), cacheDir);
    await mkdir(join(cacheDir, 'weights'), { recursive: true });
    await writeFile(path, 'stale');
    await ensureWeightsFile(entry(), { cacheDir });
    assert.equal(requests, 1);
    assert.deepEqual(await readFile(path), payload);
  });

  test('a checksum mismatch names both digests and leaves nothing behind', async () => {
    const wrong = '0'.repeat(64);
    const error = await rejectsWith(
      ensureWeightsFile(entry({ checksum: { algorithm: 'sha256', hex: wrong } }), { cacheDir }),
      'CHECKSUM_MISMATCH',
    );
    assert.match(error.message, new RegExp(`expected ${wrong}, received ${sha256}`));
    assert.deepEqual(await readdir(join(cacheDir, 'weights')), []);
  });

  test('a gzip-encoded response is checked by its decoded bytes, not the compressed Content-Length', async () => {
    const progress: [number, number | undefined][] = [];
    const path = await ensureWeightsFile(entry({ url: `${base}/gzip` }), {
      cacheDir,
      onProgress: (r, t) => progress.push([r, t]),
    });
    assert.deepEqual(await readFile(path), payload);
    assert.deepEqual(progress.at(-1), [payload.length, undefined]);
  });

  test('a response without Content-Length and a redirect both download and verify', async () => {
    const progress: [number, number | undefined][] = [];
    const path = await ensureWeightsFile(entry({ url: `${base}/chunked` }), {
      cacheDir,
      onProgress: (r, t) => progress.push([r, t]),
    });
    assert.deepEqual(await readFile(path), payload);
    assert.deepEqual(progress.at(-1), [payload.length, undefined]);
    await rm(path);
    assert.deepEqual(
      await readFile(await ensureWeightsFile(entry({ url: `${base}/moved` }), { cacheDir })),
      payload,
    );
  });

  test('a connection cut mid-body is DOWNLOAD_FAILED and leaves no partial file', async () => {
    const error = await rejectsWith(
      ensureWeightsFile(entry({ url: `${base}/cut` }), { cacheDir }),
      'DOWNLOAD_FAILED',
    );
    assert.ok(error.message.includes(`${base}/cut`), error.message);
    assert.deepEqual(await readdir(join(cacheDir, 'weights')), []);
  });

  test('offline refuses the network and says where to put the file', async () => {
    const error = await rejectsWith(
      ensureWeightsFile(entry(), { cacheDir, offline: true }),
      'OFFLINE',
    );
    assert.equal(requests, 0);
    assert.ok(error.message.includes(`${base}/weights.bin`), error.message);
    assert.ok(error.message.includes(join(cacheDir, 'weights', 'w.bin')), error.message);
  });

  test('HTTP errors and unreachable hosts are DOWNLOAD_FAILED naming the URL', async () => {
    const missing = await rejectsWith(
      ensureWeightsFile(entry({ url: `${base}/nope` }), { cacheDir }),
      'DOWNLOAD_FAILED',
    );
    assert.match(missing.message, /\/nope.*HTTP 404/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await rejectsWith(
      ensureWeightsFile(entry({ url: `http://127.0.0.1:${port}/w` }), { cacheDir }),
      'DOWNLOAD_FAILED',
    );
    assert.ok(refused.message.includes(`http://127.0.0.1:${port}/w`), refused.message);
    assert.ok(refused.message.includes(join(cacheDir, 'weights', 'w.bin')), refused.message);
    assert.match(refused.message, /--weights \(a local \.h5 or \.safetensors file, or none/);
    assert.deepEqual(await readdir(join(cacheDir, 'weights')), []);
  });
});

after(async () => {
  for (const dir of cacheDirs) await rm(dir, { recursive: true, force: true });
});

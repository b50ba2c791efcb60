/**
 * `vggkit serve` as a user starts it: it prints where to open the dashboard (with the generated
 * token off loopback), serves the folder, and stops cleanly on SIGTERM; a folder that is not there
 * is one clear error.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRun } from '../serve/fixtures.js';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

test('vggkit serve prints its address, serves the runs and stops on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vggkit-serve-cli-'));
  try {
    await writeRun(join(dir, 'a'), { epochs: 2, done: 2, end: 'finished' });
    const child = spawn(
      process.execPath,
      [...CLI, 'serve', dir, '--port', '0', '--host', '0.0.0.0', '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const printed = new Promise<{ url: string; port: number }>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        try {
          resolve(JSON.parse(stdout) as { url: string; port: number });
        } catch {
          // not the whole JSON yet
        }
      });
      child.on('exit', () => reject(new Error(`exited before printing: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const { url, port } = await printed;
    const token = new URL(url).searchParams.get('token');
    assert.ok(token !== null && token.length >= 32, url);
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/api/runs`)).status, 401);
    const listing = (await (
      await fetch(`${base}/api/runs`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as { runs: { name: string; status: string }[] };
    assert.deepEqual(
      listing.runs.map((r) => [r.name, r.status]),
      [['a', 'finished']],
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('vggkit serve on a missing folder fails in one line naming it', () => {
  const run = spawnSync(process.execPath, [...CLI, 'serve', '/nonexistent/runs', '--port', '0'], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 1);
  assert.equal(run.stderr.trim(), 'vggkit: /nonexistent/runs: expected a folder of runs to serve');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chartSpecs } from '../../src/report/chart-spec.js';
import { NEIGHBOUR_CHECKS } from '../../src/doctor/checks/neighbours.js';
import { PROBE_CHECKS } from '../../src/doctor/checks/probes.js';
import { tempDir, writeJson } from './fixtures.js';
import { colourDataset } from './probe-fixtures.js';

const CLI = resolve('src/cli/doctor.ts');

/** `vggkit doctor …` through commander in a child process, as the real binary runs it. */
function doctor(
  args: string[],
  home: string,
): { status: number | null; stdout: string; stderr: string } {
  const script = `import { Command } from 'commander'; import { registerDoctorCommand } from ${JSON.stringify(CLI)};
const program = new Command().exitOverride(); registerDoctorCommand(program);
try { await program.parseAsync(process.argv); } catch (e) { process.exitCode = e.exitCode === 0 ? 0 : 2; }`;
  const out = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, 'vggkit', 'doctor', ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, VGGKIT_HOME: home },
    },
  );
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

test('doctor --probe --json on a clean folder with a sound config: exit 0, no probe findings; bad --probe-images and --probe without data exit 2', async () => {
  const dir = await tempDir('probe-cli-');
  const data = await colourDataset(join(dir, 'data'), 8);
  const config = await writeJson(join(dir, 'config.json'), {
    weights: 'none',
    inputSize: 32,
    lr: 1e-3,
    batchSize: 8,
  });
  const html = join(dir, 'report.html');
  const ok = doctor(
    [data, '--config', config, '--probe', '--probe-images', '24', '--json', '--html', html],
    join(dir, 'home'),
  );
  assert.equal(ok.status, 0, ok.stderr);
  // The report plots the LR range test with the configured rate (1e-3) marked.
  const page = await readFile(html, 'utf8');
  assert.match(page, /<h2>Learning-rate range test<\/h2>/);
  const range = chartSpecs(page).find((c) => c.id === 'lr-range');
  assert.ok(range?.kind === 'line' && range.xLog === true);
  // A line needs two points: the loss at two or more rates.
  const drawn = range.series[0]?.values.filter((v) => v !== null) ?? [];
  assert.ok(drawn.length >= 2 && range.x.length === range.series[0]?.values.length);
  const marks = (range.markers ?? []).map((m) => m.label);
  assert.ok(marks.includes('configured 1.0e-3'), marks.join(', '));
  assert.ok(
    marks.some((m) => /^suggested \d\.\de-\d$/.test(m)),
    marks.join(', '),
  );
  assert.equal(range.markers?.find((m) => m.label.startsWith('configured'))?.x, 1e-3);
  const json = JSON.parse(ok.stdout) as { findings: { id: string; severity: string }[] };
  // A 24-image folder is too small for real training (too-few-images); the probes themselves must stay quiet.
  const probeIds = new Set([...PROBE_CHECKS, ...NEIGHBOUR_CHECKS].flatMap((c) => c.ids));
  assert.deepEqual(
    json.findings.filter((f) => probeIds.has(f.id)).map((f) => f.id),
    [],
  );

  const bad = doctor([data, '--probe', '--probe-images', 'many'], join(dir, 'home'));
  assert.equal(bad.status, 2);
  assert.match(
    bad.stderr,
    /--probe-images: expected a whole number of images >= 2, received "many"/,
  );
  const noData = doctor(['--config', config, '--probe'], join(dir, 'home'));
  assert.equal(noData.status, 2);
  assert.match(noData.stderr, /--probe needs the training data folder/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chartSpecs } from '../../src/report/chart-spec.js';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeNpyFloat32 } from '../../src/data/npy.js';
import { ALL_IDS } from '../../src/doctor/checks/index.js';
import {
  cleanDataset,
  healthyEpochs,
  kerasCsv,
  preprocess,
  rawPixels,
  tempDir,
  writeJson,
} from './fixtures.js';

const CLI = resolve('src/cli/doctor.ts');

/** Runs `vggkit doctor …` through commander in a child process, as the real binary would. */
function doctor(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const script = `import { Command } from 'commander'; import { registerDoctorCommand } from ${JSON.stringify(CLI)};
const program = new Command().exitOverride(); registerDoctorCommand(program);
try { await program.parseAsync(process.argv); } catch (e) { process.exitCode = e.exitCode === 0 ? 0 : 2; }`;
  const out = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, 'vggkit', 'doctor', ...args],
    { encoding: 'utf8' },
  );
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

async function soundInputs(): Promise<{
  dir: string;
  data: string;
  config: string;
  history: string;
  batch: string;
}> {
  const dir = await tempDir('cli-');
  const data = await cleanDataset(join(dir, 'data'));
  const config = await writeJson(join(dir, 'config.json'), {
    inputSize: 64,
    head: 'avg',
    dense: 64,
    batchSize: 8,
    epochs: 12,
  });
  const history = join(dir, 'history.csv');
  await writeFile(history, kerasCsv(healthyEpochs()));
  const batch = join(dir, 'batch.npy');
  const caffe = [103.939, 116.779, 123.68];
  await writeNpyFloat32(
    batch,
    [2, 64, 64, 3],
    preprocess(rawPixels(2, 64), (v, c) => v - caffe[c], 'bgr'),
  );
  return { dir, data, config, history, batch };
}

test('a clean dataset, a sound config, a healthy history and a correct batch: no warnings or errors, exit 0', async () => {
  const inputs = await soundInputs();
  const run = doctor([
    inputs.data,
    '--config',
    inputs.config,
    '--history',
    inputs.history,
    '--batch',
    inputs.batch,
    '--json',
  ]);
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as {
    findings: { id: string; severity: string }[];
    summary: { errors: number; warnings: number };
  };
  assert.deepEqual(
    report.findings.filter((f) => f.severity !== 'info'),
    [],
  );
  assert.equal(report.summary.errors, 0);
  assert.equal(report.summary.warnings, 0);
});

test('--json shape, exit 1 on errors, --html report and --fix-config output', async () => {
  const inputs = await soundInputs();
  const badConfig = await writeJson(join(inputs.dir, 'bad.json'), {
    inputSize: 64,
    head: 'avg',
    dense: 64,
    lr: 0.1,
    loss: 'binary_crossentropy',
    batchSize: 64,
  });
  await cleanDataset(inputs.data, { classes: ['birds'], perClass: 12, seed: 300 });
  const epochs = healthyEpochs();
  epochs[9] = { ...epochs[9], val_loss: Number.NaN };
  await writeFile(inputs.history, kerasCsv(epochs));
  const html = join(inputs.dir, 'report.html');
  const fixed = join(inputs.dir, 'fixed.json');
  const run = doctor([
    inputs.data,
    '--config',
    badConfig,
    '--history',
    inputs.history,
    '--json',
    '--html',
    html,
    '--fix-config',
    fixed,
    // The rules' fixes: measuring them needs the ImageNet weights, which tests do not download.
    '--no-measure',
  ]);
  assert.equal(run.status, 1, run.stderr);
  const report = JSON.parse(run.stdout) as {
    findings: Record<string, unknown>[];
    summary: Record<string, number>;
  };
  assert.deepEqual(Object.keys(report), ['findings', 'summary']);
  for (const f of report.findings) {
    assert.deepEqual(Object.keys(f), ['id', 'severity', 'title', 'evidence', 'fix']);
    assert.ok(ALL_IDS.includes(f.id as string));
  }
  const found = report.findings.map((f) => f.id);
  for (const id of ['lr-too-high', 'loss-output-mismatch', 'batch-larger-than-dataset', 'nan-loss'])
    assert.ok(found.includes(id), `${id} missing from ${found.join(', ')}`);
  const severities = report.findings.map((f) => f.severity as string);
  assert.deepEqual(
    severities,
    [...severities].sort(
      (a, b) => ['error', 'warning', 'info'].indexOf(a) - ['error', 'warning', 'info'].indexOf(b),
    ),
  );

  const page = await readFile(html, 'utf8');
  const loss = chartSpecs(page).find((s) => s.title === 'Loss per epoch');
  assert.ok(loss?.kind === 'line' && (loss.highlights ?? []).length > 0, 'shaded loss chart');
  assert.ok(
    !/<link|<script[^>]*\ssrc=|src="http|url\(/.test(page),
    'the report must be self-contained: nothing loaded from outside the file',
  );
  assert.match(page, /<script>.*uPlot/s, 'the chart library is inlined');

  const patched = JSON.parse(await readFile(fixed, 'utf8')) as Record<string, unknown>;
  assert.equal(patched.loss, 'categorical_crossentropy');
  assert.equal(patched.lr, 1e-4);
  assert.equal(patched.batchSize, 8); // 36 images - 20% = 28 for training; largest power of two <= 14
  assert.equal(patched.head, 'avg');
  assert.equal(patched.clipNorm, 1);
});

test('terminal output groups by severity with fixes and ends with the counts; usage errors exit 2', async () => {
  const inputs = await soundInputs();
  const bad = await writeJson(join(inputs.dir, 'bad.json'), {
    lr: 1e-9,
    inputSize: 64,
    head: 'avg',
    dense: 64,
    batchSize: 8,
  });
  const run = doctor([inputs.data, '--config', bad]);
  assert.equal(run.status, 0);
  assert.match(
    run.stdout,
    /^Warnings \(1\)\n  ▲ Learning rate 1e-9 is too low.*\[lr-too-low\]\n.*\n.*evidence: lr 1e-9.*\n      fix \(rule of thumb\): Use lr 0.00001/m,
  );
  assert.match(run.stdout, /0 error\(s\), 1 warning\(s\), 0 note\(s\)\n$/);
  assert.equal(doctor([]).status, 2);
  assert.equal(doctor([inputs.data, '--expect', 'bgr']).status, 2);
  // A data folder that is not there is an input the doctor cannot read: 2, not a finding's 1.
  const missing = doctor([join(inputs.dir, 'nope')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope: no such directory/);
});

test('an image whose thumbnail is shown in the HTML report is embedded as a data URI', async () => {
  const dir = await tempDir('cli-');
  const data = await cleanDataset(join(dir, 'data'), { perClass: 3 });
  const html = join(dir, 'r.html');
  doctor([data, '--html', html]);
  const page = await readFile(html, 'utf8');
  assert.match(page, /too-few-images/);
  assert.match(page, /small-images[\s\S]*<img src="data:image\/jpeg;base64,/);
});

test('--history twice reads phase 1 then phase 2; --classes sets the chance level and is validated', async () => {
  const dir = await tempDir('cli-');
  const phase1 = join(dir, 'phase1.csv');
  const phase2 = join(dir, 'phase2.json');
  await writeFile(
    phase1,
    'epoch,accuracy,loss,val_accuracy,val_loss\n0,0.25,1.39,0.25,1.39\n1,0.26,1.39,0.25,1.39\n2,0.24,1.39,0.25,1.39\n',
  );
  await writeFile(
    phase2,
    JSON.stringify({ loss: [1.39, 1.39, 1.39], accuracy: [0.25, 0.24, 0.26] }),
  );
  const run = doctor(['--history', phase1, '--history', phase2, '--classes', '4']);
  assert.equal(run.status, 1, run.stderr);
  assert.match(
    run.stdout,
    /^Read 2 logs as the phases of one fine-tune: 6 epochs; phase 1 = .*phase1\.csv \(3 epochs\), phase 2 = .*phase2\.json \(3 epochs\)\./,
  );
  assert.match(run.stdout, /Chance level: 1\/4/);
  assert.match(run.stdout, /\[stuck-at-chance\]/);
  const json = JSON.parse(doctor(['--history', phase1, '--classes', '4', '--json']).stdout) as {
    summary: { classes: number; history: { stages: string[]; trainings: string[] } };
  };
  assert.equal(json.summary.classes, 4);
  const bad = doctor(['--history', phase1, '--classes', 'four']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--classes: expected a whole number of classes >= 2, received "four"/);
});

test('--history FILE that cannot be read or parsed exits 2 (bad input, as a bad --config does), not 1 (errors found), naming the file; --help says so', async () => {
  const dir = await tempDir('cli-');
  const invalidJson = join(dir, 'broken.json');
  await writeFile(invalidJson, '{"loss": [1.2, 0.9');
  const noRows = join(dir, 'empty.csv');
  await writeFile(noRows, 'epoch,loss,accuracy\n');
  const notALog = join(dir, 'notes.json');
  await writeFile(notALog, JSON.stringify({ hello: 'world' }));
  const cases = [
    { file: join(dir, 'nope.csv'), message: /nope\.csv: cannot read/, code: 'NOT_FOUND' },
    { file: dir, message: /cannot read/, code: 'NOT_FOUND' },
    { file: invalidJson, message: /broken\.json: invalid JSON/, code: 'BAD_HISTORY' },
    { file: noRows, message: /empty\.csv: expected at least one epoch row/, code: 'BAD_HISTORY' },
    { file: notALog, message: /notes\.json: /, code: 'BAD_HISTORY' },
  ];
  for (const c of cases) {
    const run = doctor(['--history', c.file]);
    assert.equal(run.status, 2, `${c.file}: ${run.stderr}`);
    assert.match(run.stderr, c.message);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    const json = doctor(['--history', c.file, '--json']);
    assert.equal(json.status, 2);
    const { error } = JSON.parse(json.stdout) as { error: { code: string; file: string } };
    assert.equal(error.code, c.code);
    assert.equal(error.file, c.file);
  }
  // A readable log whose findings include an error still exits 1: the two stay apart.
  const stuck = join(dir, 'stuck.csv');
  await writeFile(
    stuck,
    'epoch,accuracy,loss,val_accuracy,val_loss\n0,0.25,1.39,0.25,1.39\n1,0.26,1.39,0.25,1.39\n2,0.24,1.39,0.25,1.39\n',
  );
  assert.equal(doctor(['--history', stuck, '--classes', '4']).status, 1);
  const help = doctor(['--help']);
  assert.match(help.stdout, /2 on a usage error or an input it cannot read/);
});

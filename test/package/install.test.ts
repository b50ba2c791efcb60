/**
 * The package installs as users install it: `npm pack`, then `npm install ./vggkit-*.tgz` in an
 * empty folder, offline from npm's cache; `npx vggkit --help` runs; a TypeScript file using the
 * public API type-checks against the shipped .d.ts (with the project's TypeScript and Node types,
 * which a TypeScript user has anyway). The tarball carries no tests, fixtures or benchmarks.
 *
 * Offline: `npm ci` caches the dependencies' tarballs but not the registry's version lists, which
 * resolving `^x.y.z` ranges needs. So the empty folder gets a package-lock.json pinning the
 * tarball and, for its dependencies, the project's own lock entries (the versions the project is
 * tested with); npm then installs from the cache alone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_fund: 'false' };
let dir = '';
let tarball = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vggkit-install-'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(info, packed.stderr);
  tarball = join(dir, info.filename);
  const paths = info.files.map((f) => f.path);
  const shipped = paths.filter((p) => /^(test|bench|scripts|samples)\/|fixtures|\.test\./.test(p));
  assert.deepEqual(shipped, [], 'no tests, fixtures, benchmarks or scripts in the tarball');
  assert.ok(paths.includes('dist/src/index.d.ts'), 'the public types ship');
  assert.ok(paths.includes('dist/src/cli/main.js'), 'the CLI ships');
});

after(() => rm(dir, { recursive: true, force: true }));

interface LockEntry {
  readonly dev?: boolean;
  readonly [key: string]: unknown;
}

/** A lockfile for an app depending on the tarball alone, its dependencies as the project locks them. */
async function lockFor(file: string): Promise<unknown> {
  const project = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    bin: Record<string, string>;
  };
  const integrity = `sha512-${createHash('sha512')
    .update(await readFile(file))
    .digest('base64')}`;
  const runtime = Object.entries(project.packages).filter(
    ([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true,
  );
  return {
    name: 'app',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', dependencies: { vggkit: `file:../${basename(file)}` } },
      'node_modules/vggkit': {
        version: manifest.version,
        resolved: `file:../${basename(file)}`,
        integrity,
        dependencies: manifest.dependencies,
        bin: manifest.bin,
      },
      ...Object.fromEntries(runtime),
    },
  };
}

test('npm install of the tarball works offline; npx vggkit --help runs; the public API type-checks', async () => {
  const app = join(dir, 'app');
  await mkdir(app);
  const dependency = { vggkit: `file:../${basename(tarball)}` };
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: dependency }),
  );
  await writeFile(join(app, 'package-lock.json'), JSON.stringify(await lockFor(tarball)));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], {
    cwd: app,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.ok((await readdir(join(app, 'node_modules'))).includes('vggkit'));

  const help = await run('npx', ['--offline', 'vggkit', '--help'], { cwd: app, env });
  assert.match(help.stdout, /^Usage: vggkit \[options\] \[command\]/);
  assert.match(help.stdout, /train \[options\] <dir>/);

  await writeFile(
    join(app, 'use.ts'),
    `import {
  DEFAULT_CONFIG,
  diagnose,
  evaluateModel,
  extractFeatures,
  fineTune,
  openClassifier,
  resolveContract,
  resolveWeightsSource,
  UsageError,
  WEIGHTS,
  type Finding,
  type TrainConfigInput,
} from 'vggkit';

const config: TrainConfigInput = { epochs: 3, reduceLr: { patience: 1 }, stages: 'head:2,block5:1' };
export async function main(): Promise<void> {
  const run = await fineTune({ data: 'data/', config });
  const lr: number = run.config.lr + DEFAULT_CONFIG.lr;
  const report = await evaluateModel({ model: run.modelDir, data: 'test/' });
  const accuracy: number = report.accuracy;
  const classifier = await openClassifier({ weights: run.modelDir });
  const { predictions } = await classifier.predict(['photo.jpg'], { top: 3 });
  const label: string | undefined = predictions[0]?.top[0]?.label;
  await extractFeatures({ paths: ['images/'], out: 'features/', layer: 'block4_pool' });
  const findings: readonly Finding[] = (await diagnose({ dataDir: 'data/', probe: false })).findings;
  const source = await resolveWeightsSource('vgg16', WEIGHTS[0]?.tag ?? 'imagenet');
  const { contract } = resolveContract(source.contract, { preprocess: 'torch' });
  console.log(lr, accuracy, label, findings.length, contract.mode, UsageError.name);
}
`,
  );
  await writeFile(
    join(app, 'bad.ts'),
    `import { fineTune } from 'vggkit';\nawait fineTune({ data: 'd', config: { optimizer: 'rmsprop' } });\n`,
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = [
    '--noEmit',
    '--strict',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--typeRoots',
    join(ROOT, 'node_modules', '@types'),
    '--types',
    'node',
  ];
  await run(process.execPath, [tsc, ...flags, 'use.ts'], { cwd: app });
  // The config is typed: an optimizer outside the closed list does not compile.
  const bad = await run(process.execPath, [tsc, ...flags, 'bad.ts'], { cwd: app }).then(
    () => '',
    (error: { stdout: string }) => error.stdout,
  );
  assert.match(bad, /bad\.ts.*'"rmsprop"' is not assignable/s);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { runDoctor } from '../../src/doctor/run.js';
import { scanDataset } from '../../src/doctor/scan.js';
import type { DoctorContext, Finding } from '../../src/doctor/types.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../../src/train/config.js';
import { writePngHeaderOnly } from '../image/fixtures.js';
import { cleanDataset, smooth, tempDir, writeImage } from './fixtures.js';

/** Training at 64x64 with a small head: the config these 64x64 test images are sound for. */
const CONFIG: TrainConfig = { ...DEFAULT_CONFIG, inputSize: 64, head: 'avg', dense: 64 };

async function diagnose(
  root: string,
  options: { val?: string; config?: TrainConfig } = {},
): Promise<Finding[]> {
  const scan = await scanDataset(root, options.val === undefined ? {} : { val: options.val });
  const ctx: DoctorContext = { scan, config: options.config ?? CONFIG };
  return [...(await runDoctor(ctx)).findings];
}

function ids(findings: readonly Finding[]): string[] {
  return findings.map((f) => f.id);
}

function get(findings: readonly Finding[], id: string): Finding {
  const found = findings.find((f) => f.id === id);
  assert.ok(found, `expected ${id} among ${ids(findings).join(', ') || 'no findings'}`);
  return found;
}

interface Case {
  readonly id: string;
  readonly severity: Finding['severity'];
  readonly broken: (root: string) => Promise<{ val?: string; config?: TrainConfig } | void>;
  /** The closest healthy variant; must leave `id` silent. */
  readonly twin: (root: string) => Promise<{ val?: string; config?: TrainConfig } | void>;
}

const nothing = async (): Promise<void> => undefined;

const CASES: Case[] = [
  {
    id: 'corrupt-image',
    severity: 'warning',
    broken: async (root) => {
      const jpeg = await smooth(99, 120, 120).jpeg().toBuffer();
      await writeFile(join(root, 'cats', 'cut.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    },
    twin: async (root) => {
      await writeFile(
        join(root, 'cats', 'whole.jpg'),
        await smooth(99, 120, 120).jpeg().toBuffer(),
      );
    },
  },
  {
    id: 'not-an-image',
    severity: 'warning',
    broken: async (root) => {
      await writeFile(join(root, 'cats', 'readme.jpg'), 'this is text, not a JPEG');
      await writeFile(join(root, 'dogs', 'empty.png'), '');
    },
    twin: nothing,
  },
  {
    id: 'unreadable-image',
    severity: 'warning',
    broken: async (root) => {
      // A decompression bomb's header: the decoder refuses it before decoding, as training does.
      await writePngHeaderOnly(join(root, 'cats', 'bomb.png'), 20_000, 20_000);
    },
    twin: async (root) => {
      await writePngHeaderOnly(join(root, 'cats', 'cut.png'), 64, 64);
    },
  },
  {
    id: 'grayscale-images',
    severity: 'info',
    broken: async (root) => {
      await writeImage(join(root, 'cats', 'gray.png'), smooth(5).toColourspace('b-w'));
    },
    twin: nothing,
  },
  {
    id: 'alpha-channel',
    severity: 'info',
    broken: async (root) => {
      await writeImage(join(root, 'cats', 'alpha.png'), smooth(6).ensureAlpha(0.5));
    },
    twin: nothing,
  },
  {
    id: 'cmyk-images',
    severity: 'info',
    broken: async (root) => {
      await writeImage(join(root, 'dogs', 'print.jpg'), smooth(7).toColourspace('cmyk'), 'jpeg');
    },
    twin: async (root) => {
      await writeImage(join(root, 'dogs', 'screen.jpg'), smooth(7), 'jpeg');
    },
  },
  {
    id: 'sixteen-bit-images',
    severity: 'info',
    broken: async (root) => {
      await writeImage(join(root, 'dogs', 'deep.png'), smooth(8).toColourspace('rgb16'));
    },
    twin: nothing,
  },
  {
    id: 'exif-rotated',
    severity: 'info',
    broken: async (root) => {
      await smooth(9)
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toFile(join(root, 'dogs', 'phone.jpg'));
    },
    twin: async (root) => {
      await smooth(9)
        .jpeg()
        .withMetadata({ orientation: 1 })
        .toFile(join(root, 'dogs', 'phone.jpg'));
    },
  },
  {
    id: 'small-images',
    severity: 'warning',
    broken: async (root) => {
      for (let i = 0; i < 4; i++)
        await writeImage(join(root, 'cats', `tiny${i}.png`), smooth(100 + i, 20, 20));
    },
    // Exactly 2x (32 -> 64) is the limit, not beyond it.
    twin: async (root) => {
      for (let i = 0; i < 4; i++)
        await writeImage(join(root, 'cats', `tiny${i}.png`), smooth(100 + i, 32, 32));
    },
  },
  {
    id: 'extreme-aspect',
    severity: 'warning',
    broken: async (root) => {
      for (let i = 0; i < 3; i++)
        await writeImage(join(root, 'dogs', `pano${i}.png`), smooth(200 + i, 192, 64));
    },
    twin: async (root) => {
      for (let i = 0; i < 3; i++)
        await writeImage(join(root, 'dogs', `wide${i}.png`), smooth(200 + i, 120, 64));
    },
  },
  {
    id: 'mixed-sizes',
    severity: 'info',
    broken: async (root) => {
      await writeImage(join(root, 'dogs', 'bigger.png'), smooth(300, 80, 72));
    },
    twin: nothing,
  },
  {
    id: 'class-imbalance',
    severity: 'warning',
    broken: async (root) => {
      await cleanDataset(root, { classes: ['cats'], perClass: 36, seed: 500 });
    },
    twin: async (root) => {
      await cleanDataset(root, { classes: ['cats'], perClass: 20, seed: 500 });
    },
  },
  {
    id: 'too-few-images',
    severity: 'warning',
    broken: async (root) => {
      await cleanDataset(root, { classes: ['birds'], perClass: 5, seed: 600 });
    },
    twin: async (root) => {
      await cleanDataset(root, { classes: ['birds'], perClass: 10, seed: 600 });
    },
  },
  {
    id: 'empty-class',
    severity: 'error',
    broken: async (root) => {
      await mkdir(join(root, 'birds'));
      await writeFile(join(root, 'birds', 'broken.png'), '');
    },
    twin: nothing,
  },
  {
    id: 'duplicate-images',
    severity: 'warning',
    broken: async (root) => {
      await copyFile(join(root, 'cats', 'cats_0.png'), join(root, 'cats', 'copy.png'));
      // A near copy: the same picture downsized and re-encoded as JPEG.
      await writeImage(
        join(root, 'dogs', 'again.jpg'),
        sharp(await readFile(join(root, 'dogs', 'dogs_3.png'))).resize(56, 56),
        'jpeg',
      );
    },
    twin: nothing,
  },
  {
    id: 'train-val-leakage',
    severity: 'error',
    broken: async (root) => {
      const val = `${root}-val`;
      await cleanDataset(val, { perClass: 4, seed: 900 });
      await copyFile(join(root, 'cats', 'cats_2.png'), join(val, 'cats', 'leaked.png'));
      return { val };
    },
    twin: async (root) => {
      const val = `${root}-val`;
      await cleanDataset(val, { perClass: 4, seed: 900 });
      return { val };
    },
  },
  {
    id: 'stray-files',
    severity: 'warning',
    broken: async (root) => {
      await writeImage(join(root, 'unsorted.png'), smooth(77));
    },
    twin: nothing,
  },
];

for (const c of CASES) {
  test(`${c.id}: fires on the broken dataset, silent on its healthy twin`, async () => {
    const broken = await cleanDataset(await tempDir());
    const brokenFindings = await diagnose(broken, (await c.broken(broken)) ?? {});
    assert.equal(get(brokenFindings, c.id).severity, c.severity);

    const healthy = await cleanDataset(await tempDir());
    const healthyFindings = await diagnose(healthy, (await c.twin(healthy)) ?? {});
    assert.ok(
      !ids(healthyFindings).includes(c.id),
      `${c.id} fired on the healthy twin: ${JSON.stringify(healthyFindings.find((f) => f.id === c.id)?.evidence)}`,
    );
  });
}

test('single-class: one class folder is an error', async () => {
  const root = await cleanDataset(await tempDir(), { classes: ['cats'] });
  assert.equal(get(await diagnose(root), 'single-class').severity, 'error');
  assert.ok(!ids(await diagnose(await cleanDataset(await tempDir()))).includes('single-class'));
});

test('grayscale concentrated in one class is a shortcut warning', async () => {
  const root = await tempDir();
  for (let i = 0; i < 12; i++) {
    await writeImage(join(root, 'xray', `g${i}.png`), smooth(i + 1).toColourspace('b-w'));
    await writeImage(join(root, 'photo', `c${i}.png`), smooth(i + 50));
  }
  const finding = get(await diagnose(root), 'grayscale-images');
  assert.equal(finding.severity, 'warning');
});

test('class-imbalance is only a note when balanced class weights are on', async () => {
  const root = await cleanDataset(await tempDir());
  await cleanDataset(root, { classes: ['cats'], perClass: 36, seed: 500 });
  const finding = get(
    await diagnose(root, { config: { ...CONFIG, classWeights: 'balanced' } }),
    'class-imbalance',
  );
  assert.equal(finding.severity, 'info');
  assert.equal(finding.fix.config, undefined);
});

test('duplicate evidence separates exact and near copies; stray non-image files alone are a note', async () => {
  const root = await cleanDataset(await tempDir());
  await copyFile(join(root, 'cats', 'cats_0.png'), join(root, 'cats', 'copy.png'));
  await writeImage(
    join(root, 'dogs', 'again.jpg'),
    sharp(await readFile(join(root, 'dogs', 'dogs_3.png'))).resize(56, 56),
    'jpeg',
  );
  await writeFile(join(root, 'dogs', 'labels.csv'), 'a,b\n');
  const findings = await diagnose(root);
  const dup = get(findings, 'duplicate-images');
  assert.equal(dup.evidence.exact, 1);
  assert.equal(dup.evidence.near, 1);
  assert.deepEqual(
    (dup.evidence.examples as string[][]).map((g) => g.length),
    [2, 2],
  );
  assert.equal(get(findings, 'stray-files').severity, 'info');
});

test('different garments of one class are not near duplicates, though their 9x8 hashes match', async () => {
  // Real Fashion-MNIST trousers from the bundled sample: distinct photos that look alike at 9x8.
  const root = await tempDir();
  const trousers = join(import.meta.dirname, '..', '..', 'samples', 'fashion', 'trouser');
  await mkdir(join(root, 'trouser'), { recursive: true });
  await mkdir(join(root, 'bag'), { recursive: true });
  for (const name of ['137.png', '214.png', '41.png', '94.png', '173.png', '211.png', '131.png']) {
    await copyFile(join(trousers, name), join(root, 'trouser', name));
  }
  await copyFile(join(trousers, '..', 'bag', '105.png'), join(root, 'bag', '105.png'));
  const scan = await scanDataset(root);
  assert.deepEqual(scan.duplicates, []);
  // A re-encoded, brightened copy of one of them is still found.
  await writeImage(
    join(root, 'trouser', 'copy.jpg'),
    sharp(join(trousers, '137.png')).modulate({ brightness: 1.1 }),
    'jpeg',
  );
  const again = await scanDataset(root);
  assert.deepEqual(
    again.duplicates.map((g) => g.members.map((m) => m.file.split('/').pop()).sort()),
    [['137.png', 'copy.jpg']],
  );
});

test('small-images: a dataset of 28x28 images is told the input size that keeps upscaling near 2x (at least 64)', async () => {
  const root = await tempDir();
  for (let i = 0; i < 12; i++)
    await writeImage(join(root, i < 6 ? 'cats' : 'dogs', `t${i}.png`), smooth(300 + i, 28, 28));
  const finding = get(
    await diagnose(root, { config: { ...CONFIG, inputSize: 224 } }),
    'small-images',
  );
  assert.deepEqual(finding.fix.config, { inputSize: 64 });
  assert.equal(finding.fix.flag, '--input-size 64');
  // 2x of 12-pixel images is below 64: the suggestion stops at 64, where block5 keeps a 2x2 map.
  const tinyRoot = await tempDir();
  for (let i = 0; i < 12; i++)
    await writeImage(join(tinyRoot, i < 6 ? 'cats' : 'dogs', `t${i}.png`), smooth(400 + i, 12, 12));
  assert.deepEqual(
    get(await diagnose(tinyRoot, { config: { ...CONFIG, inputSize: 224 } }), 'small-images').fix
      .config,
    { inputSize: 64 },
  );
  // Already training at 64: no config change can help, so it is a note without a config patch.
  const atFloor = get(
    await diagnose(tinyRoot, { config: { ...CONFIG, inputSize: 64 } }),
    'small-images',
  );
  assert.equal(atFloor.severity, 'info');
  assert.equal(atFloor.fix.config, undefined);
  assert.match(atFloor.fix.summary, /Nothing to change in the config/);
});

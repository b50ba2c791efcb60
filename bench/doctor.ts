/**
 * Doctor scan benchmark: N varied images (default 10,000; sizes 64..400 px, JPEG and PNG, five
 * classes) generated with sharp in a temp dir, then the scan (sha256, metadata, decode to a 9x8
 * thumbnail, dHash) plus every data check, timed. Prints images/s and peak RSS.
 *
 *   node --import tsx bench/doctor.ts [N]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DATA_CHECKS } from '../src/doctor/checks/data.js';
import { runDoctor } from '../src/doctor/run.js';
import { scanDataset } from '../src/doctor/scan.js';
import { Random } from '../src/util/random.js';
import { describeMachine } from './machine.js';

const count = Number(process.argv[2] ?? 10_000);
const CLASSES = ['a', 'b', 'c', 'd', 'e'];

async function generate(root: string): Promise<void> {
  const random = new Random(42);
  for (const name of CLASSES) await mkdir(join(root, name), { recursive: true });
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const grid = Buffer.alloc(6 * 6 * 3);
    for (let k = 0; k < grid.length; k++) grid[k] = random.int(256);
    const width = 64 + random.int(337);
    const height = 64 + random.int(337);
    const jpeg = i % 3 !== 0;
    const image = sharp(grid, { raw: { width: 6, height: 6, channels: 3 } }).resize(width, height, {
      fit: 'fill',
      kernel: 'cubic',
    });
    const file = join(root, CLASSES[i % CLASSES.length], `img${i}.${jpeg ? 'jpg' : 'png'}`);
    jobs.push((jpeg ? image.jpeg({ quality: 85 }) : image.png()).toFile(file));
    if (jobs.length >= 8) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
}

const root = await mkdtemp(join(tmpdir(), 'vggkit-bench-doctor-'));
try {
  console.log(describeMachine());
  const t0 = performance.now();
  await generate(root);
  const t1 = performance.now();
  const scan = await scanDataset(root);
  const t2 = performance.now();
  const report = await runDoctor({ scan }, DATA_CHECKS);
  const t3 = performance.now();
  const seconds = (t3 - t1) / 1000;
  const peakMb = process.resourceUsage().maxRSS / 1024;
  console.log(`generated ${count} images in ${((t1 - t0) / 1000).toFixed(1)} s`);
  console.log(
    `scan ${((t2 - t1) / 1000).toFixed(2)} s, data checks ${((t3 - t2) / 1000).toFixed(2)} s`,
  );
  console.log(
    `scan + data checks: ${(count / seconds).toFixed(0)} images/s (${seconds.toFixed(2)} s for ${count})`,
  );
  console.log(
    `peak RSS ${peakMb.toFixed(0)} MB; findings: ${report.findings.map((f) => f.id).join(', ') || 'none'}`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}

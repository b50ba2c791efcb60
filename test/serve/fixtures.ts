/** Run and sweep folders written the way train and sweep write them, for the dashboard's tests. */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { makeContract } from '../../src/image/contract.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { formatEventLine, type EventRecord } from '../../src/train/callbacks/events-log.js';
import type { EpochLogs } from '../../src/train/events.js';

/** A pid no process has: one that just exited. */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

export function epochLogs(epoch: number): EpochLogs {
  return {
    loss: 1.5 / (epoch + 1),
    accuracy: 0.4 + 0.05 * epoch,
    val_loss: 1.6 / (epoch + 1) + 0.05,
    val_accuracy: 0.35 + 0.05 * epoch,
    lr: 1e-3,
  };
}

export interface FakeRun {
  readonly epochs: number;
  readonly done: number;
  readonly batches?: number;
  readonly pid?: number;
  /** Writes fit_end (with a stop when given). */
  readonly end?: 'finished' | { readonly by: string };
  /** Text appended after the last complete line (a half-written record). */
  readonly trailing?: string;
  readonly time?: number;
}

/** The records of a run that completed `done` of `epochs` epochs. */
export function runRecords(run: FakeRun): EventRecord[] {
  const batches = run.batches ?? 3;
  let time = run.time ?? Date.UTC(2026, 0, 1, 12);
  const t = (): number => (time += 500);
  const records: EventRecord[] = [
    {
      type: 'fit_start',
      time: t(),
      v: 1,
      pid: run.pid ?? process.pid,
      host: hostname(),
      weights: 'imagenet',
      contract: makeContract({ mode: 'caffe', inputSize: 224 }),
      epochs: run.epochs,
      initialEpoch: 0,
      stages: [{ name: 'head', epochs: run.epochs }],
      trainSize: 24,
      valSize: 8,
      batchesPerEpoch: batches,
      classNames: ['cats', 'dogs'],
    },
    {
      type: 'stage_start',
      time: t(),
      stage: 0,
      name: 'head',
      firstEpoch: 0,
      epochs: run.epochs,
      lr: 1e-3,
      resumed: false,
    },
  ];
  for (let e = 0; e < run.done; e++) records.push(...epochRecords(e, run.epochs, batches, t));
  if (run.end !== undefined)
    records.push({
      type: 'fit_end',
      time: t(),
      epochsCompleted: run.done,
      stopped: run.end === 'finished' ? null : { by: run.end.by, message: 'no improvement' },
    });
  return records;
}

export function epochRecords(
  epoch: number,
  epochs: number,
  batches: number,
  t: () => number = () => Date.now(),
): EventRecord[] {
  const records: EventRecord[] = [{ type: 'epoch_start', time: t(), epoch, epochs, batches }];
  for (let b = 1; b <= batches; b++)
    records.push({
      type: 'batch_end',
      time: t(),
      epoch,
      batch: b,
      batches,
      loss: 1 / (epoch + 1),
      accuracy: 0.5,
      batchLoss: 1 / (epoch + 1) + 0.01 * b,
      lr: 1e-3,
      imagesPerSecond: 20,
    });
  records.push({ type: 'epoch_end', time: t(), epoch, logs: epochLogs(epoch) });
  return records;
}

/** A run folder: config.json, history.json (the completed epochs) and events.jsonl. */
export async function writeRun(dir: string, run: FakeRun): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({ ...DEFAULT_CONFIG, epochs: run.epochs }),
  );
  await writeFile(
    join(dir, 'history.json'),
    JSON.stringify({
      classNames: ['cats', 'dogs'],
      epochs: Array.from({ length: run.done }, (_, e) => ({
        epoch: e,
        ...epochLogs(e),
        stage: 'head',
      })),
    }),
  );
  await writeFile(
    join(dir, 'events.jsonl'),
    runRecords(run).map(formatEventLine).join('') + (run.trailing ?? ''),
  );
}

/** A sweep folder as issue 7 §4 describes it, with `trials` trials (the last pruned). */
export async function writeSweep(dir: string, trials: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const ids = Array.from({ length: trials }, (_, i) => String(i).padStart(3, '0'));
  const records = ids.map((id, i) => {
    const epochs = i === trials - 1 ? 2 : 4;
    return {
      id,
      number: i,
      params: { lr: 10 ** (-4 + i * 0.5), optimizer: i % 2 === 0 ? 'adam' : 'sgd' },
      status: i === trials - 1 ? 'pruned' : 'completed',
      epochs,
      budget: 4,
      history: Array.from({ length: epochs }, (_, e) => ({
        ...epochLogs(e),
        val_loss: 1 / (e + 1) + i * 0.05,
      })),
      value: 1 / epochs + i * 0.05,
      bestEpoch: epochs - 1,
      seconds: 12 + i,
      workers: [`${hostname()}:1`],
    };
  });
  for (const id of ids)
    await writeRun(join(dir, 'trials', id), { epochs: 4, done: 4, end: 'finished' });
  await writeFile(
    join(dir, 'sweep.json'),
    JSON.stringify({
      format: 'vggkit-sweep-1',
      data: '/data/pets',
      space: [
        { kind: 'float', name: 'lr', low: 1e-4, high: 1e-1, log: true },
        { kind: 'categorical', name: 'optimizer', choices: ['adam', 'sgd'] },
      ],
      sampler: { name: 'random', seed: 0 },
      scheduler: { name: 'asha', minEpochs: 1, reductionFactor: 3 },
      monitor: { name: 'val_loss', direction: 'min' },
      trialsPlanned: trials,
      trials: records,
      best: { trialId: '000', params: records[0]?.params, value: records[0]?.value },
      finished: true,
    }),
  );
  await writeFile(join(dir, 'best-config.json'), JSON.stringify({ ...DEFAULT_CONFIG, lr: 1e-4 }));
  return ids;
}

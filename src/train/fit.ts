/**
 * `fineTune()`: the seed article's recipe end to end, one call, as a short sequence of named steps
 * (in the spirit of fastai's `_with_events`):
 *
 *   openRun          resume state: run folder, config, dataset, head, base weights + contract,
 *                    the checkpoint to continue from                              (run.ts)
 *   builtInCallbacks TerminateOnNaN, ReduceLROnPlateau, EarlyStopping, ModelCheckpoint,
 *                    CSVLogger, then the caller's callbacks                        (fit-callbacks.ts)
 *   trainStage       per stage: frozen prefix features (cached) -> TrainStep (forward + loss +
 *                    backward + update in one ORT graph) -> epochs of shuffled batches ->
 *                    validation -> callbacks -> resume checkpoint                  (stage.ts)
 *   writeRunOutputs  model folder (model.onnx, weights.h5), best/, history.json,
 *                    predictions.json, report.html
 *                                                                                  (run-output.ts)
 *
 * Learning rate of a batch = schedule(baseLr) x group multiplier. `baseLr` starts at `lr`, is
 * multiplied by `stageLrFactor` at each stage change, and is what ReduceLROnPlateau lowers. Each
 * stage recompiles (a fresh optimizer), as Keras does after changing `trainable`. A call with
 * `pauseAt` pauses after that epoch (checkpoint written, no model outputs, no fit_end) and a
 * later `resume` continues as if it had never stopped.
 */
import { builtInCallbacks } from './fit-callbacks.js';
import type { FineTuneOptions, FineTuneResult } from './fit-options.js';
import { writeRunOutputs } from './run-output.js';
import { openRun, type TrainingRun } from './run.js';
import { trainStage } from './stage.js';

export type { FineTuneOptions, FineTuneResult } from './fit-options.js';

export async function fineTune(options: FineTuneOptions): Promise<FineTuneResult> {
  const run = await openRun(options);
  const callbacks = builtInCallbacks(run);
  run.callbacks = callbacks;
  await callbacks.dispatch(
    {
      type: 'fit_start',
      epochs: run.totalEpochs,
      initialEpoch: run.loop.epochsCompleted,
      stages: run.stages,
      trainSize: run.dataset.train.length,
      valSize: run.dataset.val.length,
      batchesPerEpoch: Math.ceil(run.dataset.train.length / run.config.batchSize),
      classNames: run.classNames,
    },
    run.control,
  );
  for (let index = 0; index < run.stages.length; index++) {
    if (run.stopRequest() !== undefined || run.loop.epochsCompleted >= run.lastEpoch) break;
    await trainStage(run, callbacks, index);
  }
  const stopped = run.stopRequest();
  if (options.pauseAt !== undefined) return result(run, true);
  await callbacks.dispatch(
    { type: 'fit_end', epochsCompleted: run.loop.epochsCompleted, stopped },
    run.control,
  );
  if (stopped !== undefined) run.log(`training stopped early by ${stopped.by}: ${stopped.message}`);
  await writeRunOutputs(run, stopped);
  return result(run, false);
}

function result(run: TrainingRun, paused: boolean): FineTuneResult {
  return {
    modelDir: run.out,
    history: run.loop.history,
    classNames: run.classNames,
    config: run.config,
    contract: run.base.contract,
    dataset: { train: run.dataset.train, val: run.dataset.val },
    skipped: run.skipped,
    stoppedBy: run.stopRequest()?.by,
    paused,
    weights: run.params,
  };
}

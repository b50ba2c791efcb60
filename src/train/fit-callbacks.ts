/**
 * The callbacks every fine-tune runs, before the caller's own, in this order: TerminateOnNaN,
 * ReduceLROnPlateau (unless a schedule sets the rate), EarlyStopping, ModelCheckpoint (the best
 * epoch so far), CSVLogger (history.csv), EventsLog (events.jsonl, for the dashboard). Their saved state comes back from the checkpoint, so a
 * resumed run decides exactly as an uninterrupted one.
 */
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';
import { isValidationEntry, readValidationEntries, validationEntries } from './checkpoint.js';
import { CSVLogger } from './callbacks/csv-logger.js';
import { EarlyStopping } from './callbacks/early-stopping.js';
import { EVENTS_FILE, EventsLog } from './callbacks/events-log.js';
import { ModelCheckpoint } from './callbacks/model-checkpoint.js';
import { ReduceLROnPlateau } from './callbacks/reduce-lr-on-plateau.js';
import { TerminateOnNaN } from './callbacks/terminate-on-nan.js';
import { CallbackList } from './events.js';
import type { TrainingRun } from './run.js';
import { plateauReduction } from './schedules.js';

export function builtInCallbacks(run: TrainingRun): CallbackList {
  const { config } = run;
  const callbacks = new CallbackList([
    ...(config.terminateOnNan ? [new TerminateOnNaN()] : []),
    ...(plateauReduction(config).active ? [new ReduceLROnPlateau(config.reduceLr)] : []),
    ...(config.earlyStopping.enabled
      ? [
          new EarlyStopping<string>(config.earlyStopping, {
            // The epoch's validation outputs go with its parameters: restored, they are the model's.
            snapshot: async () => {
              const validation = validationEntries(run.validation);
              await writeSafetensors(
                run.files.bestWeights,
                new Map([...run.trainedParams(), ...validation.tensors]),
                validation.metadata,
                run.epochWrites,
              );
              return run.files.bestWeights;
            },
            restore: async (file) => {
              const { tensors, metadata } = await readSafetensors(file);
              for (const [key, t] of tensors) if (!isValidationEntry(key)) run.params.set(key, t);
              run.trainStep?.setParameters(run.params);
              run.validation = readValidationEntries(tensors, metadata);
            },
          }),
        ]
      : []),
    new ModelCheckpoint({
      monitor: run.dataset.val.length > 0 ? 'val_loss' : 'loss',
      mode: 'min',
      // Per improvement only what training changed is written (cheap); best/ is built once at the end.
      save: async () => writeSafetensors(run.files.best, run.trainedParams(), {}, run.epochWrites),
    }),
    new CSVLogger({ file: join(run.out, 'history.csv'), writes: run.epochWrites }),
    new EventsLog({
      file: join(run.out, EVENTS_FILE),
      weights: config.weights,
      contract: run.base.contract,
    }),
    ...(run.options.callbacks ?? []),
  ]);
  callbacks.setState(run.loop.callbacks);
  return callbacks;
}

/** Weights loading for the commands that download: a progress bar on stderr while it runs. */
import {
  loadWeights,
  type LoadedWeights,
  type LoadWeightsOptions,
} from '../../model/load-weights.js';
import { createProgress, type Progress } from '../../report/progress.js';

/** loadWeights with a progress bar on stderr while a download runs. */
export async function loadWeightsWithProgress(
  options: Omit<LoadWeightsOptions, 'onProgress'>,
  json: boolean,
): Promise<LoadedWeights> {
  let progress: Progress | undefined;
  try {
    return await loadWeights({
      ...options,
      onProgress: (received, total) => {
        progress ??= createProgress({
          label: 'downloading weights',
          total: total ?? 0,
          unit: 'B',
          json,
        });
        progress.update(received);
      },
    });
  } finally {
    progress?.stop();
  }
}

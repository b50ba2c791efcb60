/** The progress bar on stderr while the commands that may download weights fetch them. */
import { createProgress, type Progress } from '../../report/progress.js';

export interface DownloadBar {
  readonly onDownloadProgress: (received: number, total: number | undefined) => void;
  stop(): void;
}

export function downloadBar(json: boolean): DownloadBar {
  let progress: Progress | undefined;
  return {
    onDownloadProgress: (received, total) => {
      progress ??= createProgress({
        label: 'downloading weights',
        total: total ?? 0,
        unit: 'B',
        json,
      });
      progress.update(received);
    },
    stop: () => progress?.stop(),
  };
}

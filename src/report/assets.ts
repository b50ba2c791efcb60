/**
 * The renderer's files, shipped inside the package (no CDN, works offline): uPlot's script and
 * stylesheet from its npm package and vggkit's `client/charts.js`. Static reports inline them;
 * the dashboard serves them under /assets/.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface ClientAssets {
  readonly uplotJs: string;
  readonly uplotCss: string;
  readonly chartsJs: string;
}

let cached: ClientAssets | undefined;

export function clientAssets(): ClientAssets {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  cached = {
    uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    chartsJs: readFileSync(fileURLToPath(new URL('./client/charts.js', import.meta.url)), 'utf8'),
  };
  return cached;
}

/** A script's text made safe to sit inside <script>…</script>. */
export function inlineScript(source: string): string {
  return `<script>${source.replace(/<\/script/gi, '<\\/script')}</script>`;
}

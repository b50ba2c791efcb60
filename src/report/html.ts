/**
 * The page shell every vggkit HTML shares: one stylesheet (so tables, finding cards and charts
 * look alike in report.html, doctor --html, the sweep report and the dashboard) and the chart
 * renderer inlined, so a static report is one self-contained file (chart-spec.ts documents the
 * component model).
 */
import { clientAssets, inlineScript } from './assets.js';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The shared stylesheet: layout, tables, finding cards, chart frames, the confusion matrix. */
export const BASE_CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;margin-top:2rem}a{color:#1565c0}
table{border-collapse:collapse}td,th{padding:.2rem .8rem;text-align:left;border-bottom:1px solid #ddd}
th{font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#eee;padding:0 .25rem;border-radius:2px}pre{white-space:pre-wrap;font-size:12px;background:#f0f0f0;padding:.5rem}
.muted{color:#666}.summary{margin-bottom:1.5rem}
.finding{border-left:4px solid #999;padding:.5rem 1rem;margin:1rem 0;background:#fafafa}
.finding.error{border-color:#c62828}.finding.warning{border-color:#ef8f00}.finding.info{border-color:#1565c0}
.sev{font-weight:600;text-transform:uppercase;font-size:.75rem}.error .sev{color:#c62828}.warning .sev{color:#ef8f00}.info .sev{color:#1565c0}
.fix{margin-top:.5rem}.thumbs img{margin:.25rem;border:1px solid #ccc;vertical-align:top}
.vk-charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1rem}
figure.vk-chart{margin:0;padding:.5rem;border:1px solid #e3e3e3;border-radius:4px;background:#fff;min-width:0}
.vk-title{font-weight:600;margin-bottom:.25rem}.vk-caption{font-size:12px;color:#555;margin:.25rem 0 0}.vk-empty{color:#888}
.uplot{width:100%}.u-legend{font-size:12px}
table.confusion td{text-align:right;min-width:2.5rem}table.confusion th.corner{font-weight:400;color:#666;font-size:12px}
.tiles{display:flex;flex-wrap:wrap;gap:.75rem}.tile{width:120px;font-size:12px}.tile img{width:96px;height:96px;object-fit:contain;border:1px solid #ccc;background:#fff;display:block}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:12px;font-weight:600;color:#fff;background:#777}
.badge.running{background:#1565c0}.badge.finished{background:#2e7d32}.badge.stopped{background:#ef8f00}.badge.crashed{background:#c62828}
.problem{background:#fff3e0;border:1px solid #ffb74d;padding:.4rem .8rem;border-radius:4px}`;

export interface PageOptions {
  /** Extra CSS after the shared stylesheet. */
  readonly css?: string;
  /** Extra markup at the end of <head> (the dashboard links its served assets here instead). */
  readonly head?: string;
  /** Inline the chart renderer (default); the dashboard serves it as files instead. */
  readonly inlineCharts?: boolean;
}

export function page(title: string, body: string, options: PageOptions = {}): string {
  const assets = options.inlineCharts === false ? undefined : clientAssets();
  const head = [
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${assets === undefined ? '' : assets.uplotCss}\n${BASE_CSS}\n${options.css ?? ''}</style>`,
    options.head ?? '',
  ].join('');
  const scripts =
    assets === undefined ? '' : `${inlineScript(assets.uplotJs)}${inlineScript(assets.chartsJs)}`;
  return `<!doctype html>\n<html lang="en"><head>${head}</head><body>${body}${scripts}</body></html>\n`;
}

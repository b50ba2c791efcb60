// The browser scripts under src/**/client/ are plain JavaScript that tsc does not emit: the build
// copies them beside the compiled modules that read them (src/report/assets.ts, src/serve/).
import { cpSync, existsSync } from 'node:fs';

for (const dir of ['src/report/client', 'src/serve/client'])
  if (existsSync(dir)) cpSync(dir, `dist/${dir}`, { recursive: true });

import { example2, writeKerasZip, writeKerasH5, type ModelDef, type LayerDef } from './test/model/keras/writer.js';
import { Random } from './src/util/random.js';
const r = new Random(5);
const fill = (l: LayerDef): LayerDef => l.weights === undefined ? l : { ...l, weights: l.weights.map(v => { const n = v.shape.reduce((a,b)=>a*b,1); const fan = v.shape.length > 1 ? v.shape.slice(0,-1).reduce((a,b)=>a*b,1) : 1; const d = new Float32Array(n); if (v.shape.length>1) for (let i=0;i<n;i++) d[i] = (r.next()*2-1)*Math.sqrt(6/fan); return { ...v, data: d }; }) };
const d = example2({ classes: 4, size: 32 });
const m: ModelDef = { ...d, layers: d.layers.map(fill) };
await writeKerasZip('/tmp/kx/fashion.keras', m);
await writeKerasH5('/tmp/kx/fashion.h5', m);

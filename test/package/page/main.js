import * as kd from 'kdgpu/browser';
import { train20 } from '../train.js';

window.kdgpuResult = null;
train20(kd).then(
  (r) => { window.kdgpuResult = { losses: r.losses, error: null }; },
  (e) => { window.kdgpuResult = { losses: [], error: String(e && e.stack || e) }; },
);

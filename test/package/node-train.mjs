import * as kd from 'kdgpu';
import { train20 } from './train.js';

const { losses } = await train20(kd);
console.log(JSON.stringify({ losses }));

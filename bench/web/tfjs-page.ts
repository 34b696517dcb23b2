/** bench/lib/tfjs.ts's `tf` for the browser bundle (wasm-browser.ts maps the runners' import here). */
import * as tf from '@tensorflow/tfjs-core';

export { tf };

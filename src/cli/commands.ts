/** The subcommands: adding one is a file exporting a `() => Command` default and one line here. */
export { default as info } from './info.js';
export { default as summary } from './summary.js';
export { default as train } from './train.js';
export { default as evaluate } from './eval.js';
export { default as bench } from './bench.js';
export { default as distill } from './distill.js';
export { default as sweep } from './sweep.js';
export { default as demo } from './demo.js';

/** Browser entry point: navigator.gpu. Must not import any Node built-in module. */
import { setDeviceFactory } from './gpu/context.js';
import { createBrowserDevice } from './gpu/browser.js';

setDeviceFactory(() => createBrowserDevice());

export * from './core.js';
export { createBrowserDevice } from './gpu/browser.js';

// The package's "main" is CommonJS under "type": "module", so Node cannot import it;
// we import the ES module build by path and borrow the package's own types for it.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}

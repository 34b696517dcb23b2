// protobufjs's prebuilt browser bundle (CommonJS, module.exports = the library), typed with the
// package's own declarations. proto.ts imports it because the package's source entry requires
// 'fs' (to load .proto files, which the importer never does) and browser bundles must not reach it.
declare module 'protobufjs/dist/protobuf.js' {
  import * as protobuf from 'protobufjs';
  export default protobuf;
}

/** The per-op ONNX cases (hand-encoded small graphs on awkward shapes) of onnx-ops.test.ts and onnx-grad.test.ts. */
import { modelProto } from '../src/onnx/proto.js';
import { randomValues } from './helpers.js';
import { A, encodeModel, type InitDef, type NodeDef } from './onnx-helpers.js';

/** Encodes a ModelProto message given as a plain object. */
export const encode = (msg: object): Uint8Array => {
  const T = modelProto();
  return T.encode(T.fromObject(msg)).finish();
};

const rnd = (dims: number[], seed: number, lo = -1, hi = 1): InitDef => ({ dims, data: randomValues(dims.reduce((p, d) => p * d, 1), seed, lo, hi) });
const ints = (v: number[]): InitDef => ({ dims: [v.length], data: v, int: true });
const scalar = (v: number): InitDef => ({ dims: [], data: [v] });

export interface OpCase {
  name: string;
  sample: number[];
  nodes: NodeDef[];
  inits?: Record<string, InitDef>;
  opset?: number;
  /** Input value range (default ±1.5). */
  range?: [number, number];
}

export const one = (op: string, inputs: string[], attribute: object[] = []): NodeDef[] => [{ op_type: op, input: ['x', ...inputs], output: ['y'], attribute }];

export const CASES: OpCase[] = [
  { name: 'Conv, asymmetric pads, stride 2, dilation 2, groups 2', sample: [4, 9, 7], nodes: one('Conv', ['w', 'b'], [A.ints('pads', [0, 2, 1, 0]), A.ints('strides', [2, 2]), A.ints('dilations', [2, 1]), A.i('group', 2)]), inits: { w: rnd([6, 2, 3, 2], 1), b: rnd([6], 2) } },
  { name: 'Conv, SAME_LOWER, stride 2, no bias', sample: [3, 8, 5], nodes: one('Conv', ['w'], [A.s('auto_pad', 'SAME_LOWER'), A.ints('strides', [2, 2])]), inits: { w: rnd([5, 3, 2, 3], 3) } },
  { name: 'Conv, SAME_UPPER, depthwise', sample: [4, 7, 6], nodes: one('Conv', ['w', 'b'], [A.s('auto_pad', 'SAME_UPPER'), A.i('group', 4), A.ints('kernel_shape', [3, 3])]), inits: { w: rnd([4, 1, 3, 3], 4), b: rnd([4], 5) } },
  { name: 'Conv, VALID, weight computed at run time (Mul of two initializers)', sample: [2, 6, 6], nodes: [{ op_type: 'Mul', input: ['w0', 'k'], output: ['w'] }, { op_type: 'Conv', input: ['x', 'w'], output: ['y'], attribute: [A.s('auto_pad', 'VALID')] }], inits: { w0: rnd([3, 2, 2, 2], 6), k: scalar(1.5) } },
  { name: 'Gemm, transA, alpha, beta, broadcast C', sample: [5], nodes: [{ op_type: 'Transpose', input: ['x'], output: ['xt'] }, { op_type: 'Gemm', input: ['xt', 'w', 'c'], output: ['y'], attribute: [A.i('transA', 1), A.f('alpha', 0.7), A.f('beta', -1.3)] }], inits: { w: rnd([5, 4], 7), c: rnd([4], 8) } },
  { name: 'Gemm as Linear (transB)', sample: [6], nodes: one('Gemm', ['w', 'b'], [A.i('transB', 1)]), inits: { w: rnd([4, 6], 9), b: rnd([4], 10) } },
  { name: 'MatMul, batched with broadcasting', sample: [2, 3, 5], nodes: one('MatMul', ['w']), inits: { w: rnd([5, 4], 11) } },
  { name: 'MatMul, vector on the right', sample: [3, 5], nodes: one('MatMul', ['v']), inits: { v: rnd([5], 12) } },
  { name: 'Add, Sub, Mul, Div with broadcasting and a scalar on the left', sample: [3, 4], nodes: [
    { op_type: 'Add', input: ['x', 'a'], output: ['t1'] },
    { op_type: 'Sub', input: ['one', 't1'], output: ['t2'] },
    { op_type: 'Mul', input: ['t2', 'm'], output: ['t3'] },
    { op_type: 'Div', input: ['t3', 'd'], output: ['y'] },
  ], inits: { a: rnd([4], 13), one: scalar(1), m: rnd([3, 1], 14), d: rnd([4], 15, 0.5, 2) } },
  { name: 'Relu, Sigmoid, Tanh, LeakyRelu (alpha 0.2)', sample: [5, 3], nodes: [
    { op_type: 'Relu', input: ['x'], output: ['r'] },
    { op_type: 'Sigmoid', input: ['x'], output: ['s'] },
    { op_type: 'Tanh', input: ['x'], output: ['t'] },
    { op_type: 'LeakyRelu', input: ['x'], output: ['l'], attribute: [A.f('alpha', 0.2)] },
    { op_type: 'Concat', input: ['r', 's', 't', 'l'], output: ['y'], attribute: [A.i('axis', -1)] },
  ] },
  { name: 'Clip: ReLU6, min only, min and max', sample: [7], range: [-8, 8], nodes: [
    { op_type: 'Clip', input: ['x', 'zero', 'six'], output: ['a'] },
    { op_type: 'Clip', input: ['x', 'lo'], output: ['b'] },
    { op_type: 'Clip', input: ['x', 'lo', 'hi'], output: ['c'] },
    { op_type: 'Concat', input: ['a', 'b', 'c'], output: ['y'], attribute: [A.i('axis', 1)] },
  ], inits: { zero: scalar(0), six: scalar(6), lo: scalar(-2.5), hi: scalar(3.25) } },
  { name: 'MaxPool, ceil_mode, pads, stride 2', sample: [2, 7, 8], nodes: one('MaxPool', [], [A.ints('kernel_shape', [3, 2]), A.ints('strides', [2, 2]), A.ints('pads', [1, 0, 1, 0]), A.i('ceil_mode', 1)]) },
  { name: 'MaxPool, asymmetric pads wider than half the kernel', sample: [2, 5, 5], nodes: one('MaxPool', [], [A.ints('kernel_shape', [2, 2]), A.ints('pads', [0, 1, 1, 0])]) },
  { name: 'AveragePool, pads, count_include_pad = 0', sample: [3, 6, 7], nodes: one('AveragePool', [], [A.ints('kernel_shape', [3, 3]), A.ints('strides', [2, 2]), A.ints('pads', [1, 1, 1, 1])]) },
  { name: 'AveragePool, asymmetric pads, count_include_pad = 1', sample: [2, 5, 6], nodes: one('AveragePool', [], [A.ints('kernel_shape', [2, 3]), A.ints('pads', [1, 0, 0, 2]), A.i('count_include_pad', 1)]) },
  { name: 'AveragePool, SAME_UPPER', sample: [2, 5, 5], nodes: one('AveragePool', [], [A.ints('kernel_shape', [2, 2]), A.ints('strides', [2, 2]), A.s('auto_pad', 'SAME_UPPER')]) },
  { name: 'GlobalAveragePool', sample: [5, 3, 7], nodes: one('GlobalAveragePool', []) },
  { name: 'ReduceMean, two negative axes, keepdims 0', sample: [3, 4, 5], nodes: one('ReduceMean', [], [A.ints('axes', [-1, 1]), A.i('keepdims', 0)]) },
  { name: 'ReduceMean, all axes, keepdims 1', sample: [2, 3], nodes: one('ReduceMean', []) },
  { name: 'BatchNormalization on [N, C] and [N, C, L]', sample: [3, 5], nodes: [
    { op_type: 'BatchNormalization', input: ['x', 's', 'b', 'm', 'v'], output: ['h'], attribute: [A.f('epsilon', 1e-3)] },
    { op_type: 'Unsqueeze', input: ['h', 'ax'], output: ['h3'] },
    { op_type: 'BatchNormalization', input: ['h3', 's2', 'b2', 'm2', 'v2'], output: ['y'] },
  ], inits: { s: rnd([3], 16), b: rnd([3], 17), m: rnd([3], 18), v: rnd([3], 19, 0.5, 2), ax: ints([-1]), s2: rnd([3], 20), b2: rnd([3], 21), m2: rnd([3], 22), v2: rnd([3], 23, 0.5, 2) } },
  { name: 'Flatten axis 2, Reshape with 0 and -1', sample: [2, 3, 4], nodes: [
    { op_type: 'Flatten', input: ['x'], output: ['f'], attribute: [A.i('axis', 2)] },
    { op_type: 'Reshape', input: ['f', 'shape'], output: ['y'] },
  ], inits: { shape: ints([0, -1, 3]) } },
  { name: 'Transpose (default reversal and a permutation)', sample: [2, 3, 4], nodes: [
    { op_type: 'Transpose', input: ['x'], output: ['t'] },
    { op_type: 'Transpose', input: ['t'], output: ['y'], attribute: [A.ints('perm', [1, 0, 2, 3])] },
  ] },
  { name: 'Pad, constant value, negative pads crop', sample: [3, 4, 5], nodes: one('Pad', ['pads', 'val']), inits: { pads: ints([0, 1, -1, 2, 0, 0, 2, -2]), val: scalar(0.75) } },
  { name: 'Slice, Squeeze, Unsqueeze on run-time data', sample: [4, 6], nodes: [
    { op_type: 'Slice', input: ['x', 'st', 'en', 'axes'], output: ['s'] },
    { op_type: 'Unsqueeze', input: ['s', 'ax'], output: ['u'] },
    { op_type: 'Squeeze', input: ['u', 'ax'], output: ['y'] },
  ], inits: { st: ints([1, -4]), en: ints([3, 1000]), axes: ints([1, 2]), ax: ints([2]) } },
  { name: 'Softmax, opset 11 (coerced to 2-D at axis 1) on 4-D input', sample: [2, 3, 2], opset: 11, nodes: [
    { op_type: 'Softmax', input: ['x'], output: ['s'], attribute: [A.i('axis', 1)] },
    { op_type: 'Identity', input: ['s'], output: ['y'] },
  ] },
  { name: 'LogSoftmax, opset 13, axis 1 of 3-D input; Dropout (ratio input), Identity, Cast', sample: [4, 3], nodes: [
    { op_type: 'Dropout', input: ['x', 'ratio'], output: ['d'] },
    { op_type: 'Cast', input: ['d'], output: ['c'], attribute: [A.i('to', 1)] },
    { op_type: 'LogSoftmax', input: ['c'], output: ['l'], attribute: [A.i('axis', 1)] },
    { op_type: 'Identity', input: ['l'], output: ['y'] },
  ], inits: { ratio: scalar(0.3) } },
  { name: 'shape subgraph: x.view(x.size(0), -1) folded on the host', sample: [3, 2, 2], nodes: [
    { op_type: 'Shape', input: ['x'], output: ['sh'] },
    { op_type: 'Constant', input: [], output: ['zero'], attribute: [{ name: 'value', type: 4, t: { dims: [], data_type: 7, int64_data: [0] } }] },
    { op_type: 'Gather', input: ['sh', 'zero'], output: ['n'], attribute: [A.i('axis', 0)] },
    { op_type: 'Unsqueeze', input: ['n', 'ax0'], output: ['n1'] },
    { op_type: 'Concat', input: ['n1', 'minus1'], output: ['target'], attribute: [A.i('axis', 0)] },
    { op_type: 'Reshape', input: ['x', 'target'], output: ['y'] },
  ], inits: { ax0: ints([0]), minus1: ints([-1]) } },
];

/** A case's model bytes. */
export const caseBytes = (c: OpCase): Uint8Array => encodeModel(encode, c.nodes, c.inits ?? {}, c.sample, c.opset ?? 13);

/**
 * Typed option parsers for commander. A parser that throws InvalidArgumentError makes commander
 * print "error: option '--epochs <n>' argument 'abc' is invalid. Expected a positive integer."
 * and exit 1, so every bad value is reported with the option's name and what it accepts.
 */
import { InvalidArgumentError, Option } from 'commander';

function integer(min: number, what: string): (value: string) => number {
  return (value) => {
    const v = value.trim();
    if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min) throw new InvalidArgumentError(`Expected ${what}.`);
    return Number(v);
  };
}

export const positiveInt = integer(1, 'a positive integer');
export const nonNegativeInt = integer(0, 'an integer ≥ 0');

/** A finite number within [min, max]; `exclusiveMin` makes the lower bound open. */
export function numberIn(what: string, min = -Infinity, max = Infinity, exclusiveMin = false): (value: string) => number {
  return (value) => {
    const n = value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (exclusiveMin && n === min)) throw new InvalidArgumentError(`Expected ${what}.`);
    return n;
  };
}

export const positiveNumber = numberIn('a number > 0', 0, Infinity, true);
export const nonNegativeNumber = numberIn('a number ≥ 0', 0);

/** An option restricted to a list (commander reports "Allowed choices are …"). */
export function choiceOption(flags: string, description: string, choices: readonly string[], dflt?: string): Option {
  const o = new Option(flags, description).choices(choices);
  return dflt === undefined ? o : o.default(dflt);
}

/** `--json`: the one option every subcommand has. */
export const jsonOption = () => new Option('--json', 'print one JSON document with the results on stdout (text and progress go to stderr)');

/** `--image-size`: "n" (square) or "HxW", positive integers. */
export function imageSize(value: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:[xX×]\s*(\d+)\s*)?$/.exec(value);
  const hw = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [];
  if (hw.length !== 2 || !hw.every((v) => Number.isSafeInteger(v) && v >= 1)) throw new InvalidArgumentError('Expected a positive integer n (n×n) or HxW, e.g. 28 or 224x224.');
  return [hw[0], hw[1]];
}

/** The options of an image-folder dataset (`--dataset images:annotations.csv`); add them to a command with addOption. */
export const imageFolderOptions = (): Option[] => [
  new Option('--image-size <n|HxW>', "images:… datasets: resize every image to n×n or H×W (the model's input size)").argParser(imageSize),
  new Option('--channels <n>', "images:… datasets: the model's input channels, 1 (grayscale) or 3 (RGB)").choices(['1', '3']),
  new Option('--convert-channels', 'images:… datasets: convert grayscale ↔ RGB images instead of skipping them'),
  new Option('--strict', 'images:… datasets: stop at the first bad image or CSV row instead of skipping it (eval: also refuse weights with NaN or infinite values)'),
];

/** `--max-params`: the bound on a spec model's parameters (nn.SPEC_LIMITS.params by default). */
export const maxParamsOption = () =>
  new Option('--max-params <n>', 'largest parameter count a --model-spec/--student-spec may describe (default 100,000,000)').argParser(integer(1, 'a positive integer'));

/** A comma-separated list of finite numbers, e.g. "0.485,0.456,0.406". */
export function numberList(value: string): number[] {
  const v = value.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (v.length === 0 || !v.every(Number.isFinite)) throw new InvalidArgumentError('Expected numbers separated by commas, e.g. 0.5 or 0.485,0.456,0.406.');
  return v;
}

/** How the inputs of an ONNX model are scaled (the file does not say): `--onnx-scale`, `--onnx-mean`, `--onnx-std`. */
export const onnxInputOptions = (): Option[] => [
  new Option('--onnx-scale <x>', 'ONNX models: multiply the inputs (pixels in [0, 1]) by x first, e.g. 255').argParser(numberIn('a finite number')),
  new Option('--onnx-mean <m>', 'ONNX models: per-channel mean to subtract after scaling (one value or one per channel)').argParser(numberList),
  new Option('--onnx-std <s>', 'ONNX models: per-channel standard deviation to divide by (one value or one per channel)').argParser(numberList),
];

/** The values of onnxInputOptions. */
export interface OnnxInputFlags {
  onnxScale?: number;
  onnxMean?: number[];
  onnxStd?: number[];
}

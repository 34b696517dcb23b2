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

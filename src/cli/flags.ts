/** Parsers of numeric flags: a bad value is a usage error (exit 2) before anything starts. */
import { InvalidArgumentError } from 'commander';

/** A commander argument parser for an integer from `min` to `max`. */
export function intFlag(min = 1, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      const range =
        max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected ${range}.`);
    }
    return n;
  };
}

/** A commander argument parser for a positive number of seconds (fractions allowed). */
export function secondsFlag(value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(n > 0) || n > 86_400) throw new InvalidArgumentError('expected a number of seconds above 0.');
  return n;
}

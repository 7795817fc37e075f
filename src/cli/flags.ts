/** Parsers of numeric and duration flags: a bad value is a usage error (exit 2) before anything starts. */
import { InvalidArgumentError } from 'commander';
import { InputError } from '../contract/errors.js';

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

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration flag such as `30s`, `15m`, `1h`, `1d` or `1h30m` in milliseconds, at least `minMs`.
 * Whole units only: Temporal rounds schedule durations to the second anyway.
 * @throws InputError naming `field` (e.g. `--every`), the value and what is accepted.
 */
export function durationFlag(value: string, field: string, minMs = 1000): number {
  const text = value.trim();
  const accepted = `a duration of at least ${minMs / 1000} s such as 30s, 15m, 1h, 1d or 1h30m`;
  if (!/^(\d+[smhd])+$/.test(text)) throw new InputError(field, value, accepted);
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  if (!Number.isSafeInteger(ms) || ms < minMs) throw new InputError(field, value, accepted);
  return ms;
}

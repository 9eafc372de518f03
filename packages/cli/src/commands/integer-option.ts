import { InvalidArgumentError } from 'commander';

/**
 * A Commander argument parser for a whole number from `min` up: a bad value is a usage error
 * (exit code 2) that names what was expected.
 */
export function integerOption(min: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isInteger(number) || number < min) {
      throw new InvalidArgumentError(`expected a whole number from ${min} up, got "${value}".`);
    }
    return number;
  };
}

/** A command line that cannot be acted on (exit code 2): say what is wrong and how to fix it. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

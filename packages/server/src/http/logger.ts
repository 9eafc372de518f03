/** A structured logger (pino-compatible subset): one JSON object of fields, then a message. */
export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Writes one JSON line per entry to stderr; the default when `createApp` is given no logger. */
export const jsonLogger: Logger = {
  info: (fields, message) => write('info', fields, message),
  error: (fields, message) => write('error', fields, message),
};

/** Drops everything (tests that assert on responses, not logs). */
export const silentLogger: Logger = { info: () => {}, error: () => {} };

function write(level: string, fields: Record<string, unknown>, message: string): void {
  const entry = { level, time: new Date().toISOString(), msg: message, ...fields };
  process.stderr.write(`${JSON.stringify(entry, errorReplacer)}\n`);
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/** Values shorter than this are not masked: they would mask ordinary words. */
const minMaskedLength = 4;

/**
 * `text` with every value of `secrets` in it replaced by the secret's name in brackets
 * (`[ORDERS_API_KEY]`): what a custom tool's output, errors and log lines say when they quote
 * a secret the tool was given. Longer values are replaced first, so a secret that contains
 * another is masked whole.
 */
export function maskSecrets(text: string, secrets: Record<string, string>): string {
  let masked = text;
  const entries = Object.entries(secrets)
    .filter(([, value]) => value.length >= minMaskedLength)
    .sort(([, a], [, b]) => b.length - a.length);
  for (const [name, value] of entries) {
    if (masked.includes(value)) masked = masked.replaceAll(value, `[${name}]`);
  }
  return masked;
}

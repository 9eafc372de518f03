import { RunToolsError } from '@runtools/sdk';
import {
  definitionSecrets,
  isMaskedSecret,
  mapDefinitionSecrets,
  maskSecret,
} from '@runtools/sdk/api';
import { SecretBox } from './secret-box.ts';

/**
 * The secrets of a runtime's definition (a literal `model.apiKey`, the values of `model.headers`;
 * which fields these are is the contract's `mapDefinitionSecrets`) as the database holds them:
 * each sealed on its own, bound to the runtime and the field, the rest of the definition as is.
 */
export function sealDefinitionSecrets<T>(definition: T, box: SecretBox, runtimeId: string): T {
  return mapDefinitionSecrets(definition, (value, field) =>
    SecretBox.isSealed(value) ? value : box.seal(value, context(runtimeId, field)),
  );
}

/** The definition with its secrets decrypted (see `sealDefinitionSecrets`). */
export function openDefinitionSecrets<T>(definition: T, box: SecretBox, runtimeId: string): T {
  return mapDefinitionSecrets(definition, (value, field) =>
    box.open(value, context(runtimeId, field)),
  );
}

/** True when a definition holds a secret as the API shows it (masked). */
export function hasMaskedSecrets(definition: unknown): boolean {
  return [...definitionSecrets(definition).values()].some(isMaskedSecret);
}

/**
 * A definition sent back as the API showed it: each masked secret (`sk-…abcd`) becomes the stored
 * secret it masks (`previous`, the version it was read from). A masked value that masks nothing
 * stored there is an `invalid_input`: it would be saved as the key.
 */
export function restoreMaskedSecrets<T>(definition: T, previous: unknown): T {
  const stored = definitionSecrets(previous);
  return mapDefinitionSecrets(definition, (value, field) => {
    if (!isMaskedSecret(value)) return value;
    const secret = stored.get(field);
    if (secret !== undefined && maskSecret(secret) === value) return secret;
    throw new RunToolsError(
      'invalid_input',
      `${field}: "${value}" is a masked secret, and no stored secret of this runtime masks to it; send the secret itself.`,
      { details: { issues: [{ field, message: 'a masked secret that matches no stored one' }] } },
    );
  });
}

/**
 * `text` with every secret of `definition` in it replaced by its mask: what a run's error
 * message and events say when a model provider's error quotes the key it was sent.
 */
export function redactDefinitionSecrets(text: string, definition: unknown): string {
  let redacted = text;
  for (const secret of definitionSecrets(definition).values()) {
    // Shorter values would also mask ordinary words.
    if (secret.length >= 8) redacted = redacted.replaceAll(secret, maskSecret(secret));
  }
  return redacted;
}

function context(runtimeId: string, field: string): string {
  return `runtimes.definition.${field}:${runtimeId}`;
}

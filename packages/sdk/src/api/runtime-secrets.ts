/**
 * The secrets of an agent definition as the API stores and shows them. A runtime's definition may
 * carry credentials for its model: a literal `model.apiKey` (not `env:NAME`, which names a
 * variable of the server's environment and is no secret), the values of `model.headers` (a
 * custom endpoint's `Authorization`, `x-api-key`, …) and of a remote MCP server's `headers`
 * (`mcpServers.NAME.headers`). The server keeps them encrypted and never
 * returns them: a runtime's `definition` shows each masked (`sk-…abcd`), and a masked value sent
 * back unchanged (`PUT` of what `GET` returned) keeps the stored secret.
 */

/** The character a masked secret contains, and no real key does. */
const ellipsis = '…';

/**
 * Calls `fn` on every secret of a definition (JSON) and returns a copy with what it returned;
 * `field` is the secret's path, e.g. `model.apiKey` or `model.headers.Authorization`. Anything
 * that is not a definition with secrets comes back unchanged.
 */
export function mapDefinitionSecrets<T>(
  definition: T,
  fn: (value: string, field: string) => string,
): T {
  if (!isRecord(definition)) return definition;
  let changed = false;
  let mcpServers = definition.mcpServers;
  if (isRecord(mcpServers)) {
    const servers: Record<string, unknown> = { ...mcpServers };
    for (const [name, server] of Object.entries(servers)) {
      if (!isRecord(server) || !isRecord(server.headers)) continue;
      const headers: Record<string, unknown> = { ...server.headers };
      for (const [header, value] of Object.entries(headers)) {
        if (typeof value !== 'string') continue;
        const mapped = fn(value, `mcpServers.${name}.headers.${header}`);
        changed ||= mapped !== value;
        headers[header] = mapped;
      }
      servers[name] = { ...server, headers };
    }
    mcpServers = servers;
  }
  if (!isRecord(definition.model)) {
    return changed ? ({ ...definition, mcpServers } as T) : definition;
  }
  const model: Record<string, unknown> = { ...definition.model };
  if (typeof model.apiKey === 'string' && !model.apiKey.startsWith('env:')) {
    const value = fn(model.apiKey, 'model.apiKey');
    changed ||= value !== model.apiKey;
    model.apiKey = value;
  }
  if (isRecord(model.headers)) {
    const headers: Record<string, unknown> = { ...model.headers };
    for (const [name, header] of Object.entries(headers)) {
      if (typeof header !== 'string') continue;
      const value = fn(header, `model.headers.${name}`);
      changed ||= value !== header;
      headers[name] = value;
    }
    model.headers = headers;
  }
  if (!changed) return definition;
  return (
    isRecord(mcpServers) ? { ...definition, model, mcpServers } : { ...definition, model }
  ) as T;
}

/**
 * Every secret of a definition by its field (`model.apiKey`, `model.headers.NAME`,
 * `mcpServers.SERVER.headers.NAME`).
 */
export function definitionSecrets(definition: unknown): Map<string, string> {
  const secrets = new Map<string, string>();
  mapDefinitionSecrets(definition, (value, field) => {
    secrets.set(field, value);
    return value;
  });
  return secrets;
}

/**
 * How the API shows a secret: its first 3 and last 4 characters when it is long enough that
 * these say which key it is without helping to guess it (20 characters or more), else `…` alone.
 *
 * @example
 * maskSecret('sk-proj-0123456789abcdefwxyz') // 'sk-…wxyz'
 */
export function maskSecret(value: string): string {
  return value.length >= 20 ? `${value.slice(0, 3)}${ellipsis}${value.slice(-4)}` : ellipsis;
}

/** True for a value as `maskSecret` writes it (it contains `…`, which no real key does). */
export function isMaskedSecret(value: string): boolean {
  return value.includes(ellipsis);
}

/** The definition as the API returns it: every secret masked (`maskSecret`). */
export function maskDefinitionSecrets<T>(definition: T): T {
  return mapDefinitionSecrets(definition, maskSecret);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

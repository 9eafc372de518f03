import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { ModelSpec, ProjectConfig } from '@runtools/sdk';
import { RunToolsError } from '@runtools/sdk/errors';
import type { LanguageModel } from 'ai';
import {
  type KeyedProvider,
  ModelAccess,
  type ModelEnvironment,
  PROVIDER_APIS,
  PROVIDER_KEYS,
} from './model-access.ts';
import { scriptedModel } from './scripted-model.ts';

export { type ModelEnvironment, PROVIDER_KEYS } from './model-access.ts';

/** A model name or spec that no provider can serve as configured (`model_unavailable`). */
export class ModelConfigError extends RunToolsError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('model_unavailable', message, { details });
    this.name = 'ModelConfigError';
  }
}

/**
 * `model: 'auto'` on a server that has no provider key and does not serve the demo model (a
 * production server: `npm run start:server`): the run fails with `no_model_configured` naming the
 * variables to set, instead of answering with the scripted demo model by accident.
 */
export class NoModelConfiguredError extends RunToolsError {
  constructor() {
    const variables = Object.values(PROVIDER_KEYS);
    super(
      'no_model_configured',
      `model: 'auto' needs a model provider key and this server has none: set ${variables.slice(0, -1).join(', ')} or ${variables.at(-1)} in the RunTools server's environment and restart it, or give the agent a model it can serve. (The scripted demo model answers 'auto' only under \`runtools dev\`, and model: 'scripted' always.)`,
      { details: { variables } },
    );
    this.name = 'NoModelConfiguredError';
  }
}

/** How a caller (the server, `runtools dev`) wants models resolved. */
export interface ModelOptions {
  /**
   * What `model: 'auto'` does with no provider key: true (the default here, and under
   * `runtools dev`) answers with the scripted demo model; false (a production server) fails
   * with `NoModelConfiguredError`.
   */
  demoModel?: boolean;
}

/**
 * The model `model: 'auto'` picks for each provider, in this order of preference: the first
 * provider whose key is set wins; with none, the scripted demo model (or, with `demoModel:
 * false`, a `NoModelConfiguredError`).
 */
export const AUTO_MODELS = {
  anthropic: 'claude-sonnet-5-5',
  openai: 'gpt-5.4',
  google: 'gemini-pro-latest',
} as const;

/** What `model: 'auto'` resolves to with this environment: a provider and model, or `scripted`. */
export function autoModelChoice(
  env: ModelEnvironment,
  options: ModelOptions = {},
): { provider: keyof typeof AUTO_MODELS; model: string } | { provider: 'scripted'; model: string } {
  for (const provider of ['anthropic', 'openai', 'google'] as const) {
    if (env[PROVIDER_KEYS[provider]]) return { provider, model: AUTO_MODELS[provider] };
  }
  if (options.demoModel === false) throw new NoModelConfiguredError();
  return { provider: 'scripted', model: 'scripted' };
}

/** Which provider a bare model name belongs to. */
export function providerOf(
  model: string,
): 'anthropic' | 'openai' | 'google' | 'openai-compatible' | 'runtools' {
  if (model === 'auto' || model === 'scripted') return 'runtools';
  if (/^claude-/.test(model)) return 'anthropic';
  if (/^(gpt-|chatgpt-|o\d)/.test(model)) return 'openai';
  if (/^gemini-/.test(model)) return 'google';
  return 'openai-compatible';
}

/**
 * Turns an agent's `model` into an AI SDK language model. A missing key is an error that names
 * the variable to set; `apiKey: 'env:NAME'` reads NAME from the environment. `'auto'` picks the
 * first provider with a key (`AUTO_MODELS`), else the scripted demo model (with `demoModel:
 * false` in `options`, a `NoModelConfiguredError`); `'scripted'` is always the scripted demo
 * model (deterministic, no network).
 *
 * `access` says where the server's keys may go and which addresses custom endpoints may reach
 * (default: no operator allowances, so a key goes only to its provider's API and no endpoint may
 * be on loopback or a private network); a model that breaks it throws `ModelAccessError`, and a
 * refused connection fails the model call with `model_endpoint_forbidden`.
 */
export function resolveModel(
  spec: ModelSpec,
  env: ModelEnvironment,
  config?: Pick<ProjectConfig, 'openaiCompatible'>,
  access: ModelAccess = strictAccess(),
  options: ModelOptions = {},
): LanguageModel {
  if (typeof spec === 'string') {
    if (spec === 'scripted') return scriptedModel();
    if (spec === 'auto') {
      const choice = autoModelChoice(env, options);
      return choice.provider === 'scripted'
        ? scriptedModel()
        : providerModel(choice.provider, choice.model, env, access);
    }
    const provider = providerOf(spec);
    if (provider === 'openai-compatible') {
      const c = config?.openaiCompatible;
      if (!c) {
        throw new ModelConfigError(
          `No provider for model "${spec}": names starting with claude-, gpt-/o1…, gemini- pick Anthropic, OpenAI or Google; for other models set openaiCompatible: { baseURL } in runtools.config.ts, or use model: { provider: 'custom', endpoint, model }.`,
          { model: spec },
        );
      }
      const apiKey = keyFor(c.apiKey, c.baseURL, env, access, 'openaiCompatible.apiKey');
      return createOpenAICompatible({
        name: c.name,
        baseURL: c.baseURL,
        includeUsage: true,
        ...(apiKey ? { apiKey } : {}),
        ...fetchOption(c.baseURL, env, access),
      }).chatModel(spec);
    }
    if (provider === 'runtools') return scriptedModel();
    return providerModel(provider, spec, env, access);
  }
  if (spec.provider === 'custom') {
    const baseURL = chatBaseURL(spec.endpoint);
    const apiKey = keyFor(spec.apiKey, baseURL, env, access, 'model.apiKey');
    return createOpenAICompatible({
      name: 'custom',
      baseURL,
      includeUsage: true, // without it a streamed answer reports no token usage
      ...(apiKey ? { apiKey } : {}),
      ...(spec.headers ? { headers: spec.headers } : {}),
      ...fetchOption(baseURL, env, access),
    }).chatModel(spec.model ?? 'default');
  }
  if (spec.provider === 'openai-compatible') {
    if (!spec.baseURL)
      throw new ModelConfigError('model.baseURL is required for provider "openai-compatible".');
    const apiKey = keyFor(spec.apiKey, spec.baseURL, env, access, 'model.apiKey');
    return createOpenAICompatible({
      name: 'openai-compatible',
      baseURL: spec.baseURL,
      includeUsage: true,
      ...(apiKey ? { apiKey } : {}),
      ...fetchOption(spec.baseURL, env, access),
    }).chatModel(spec.model);
  }
  return providerModel(spec.provider, spec.model, env, access, spec.baseURL, spec.apiKey);
}

/**
 * The base URL of an OpenAI-compatible endpoint given as users paste it: the API's root
 * (`…/v1`), or the chat path itself (`…/v1/chat/completions`, or `…/v1/chat` as some gateways
 * document it). The provider appends `/chat/completions` to the base.
 */
export function chatBaseURL(endpoint: string): string {
  return endpoint.replace(/\/+$/, '').replace(/\/chat(\/completions)?$/, '');
}

function providerModel(
  provider: KeyedProvider,
  model: string,
  env: ModelEnvironment,
  access: ModelAccess,
  baseURL?: string,
  apiKey?: string,
): LanguageModel {
  // Always explicit: the providers would otherwise read process.env themselves.
  const url = baseURL ?? env[`${provider.toUpperCase()}_BASE_URL`] ?? PROVIDER_APIS[provider];
  const variable = PROVIDER_KEYS[provider];
  let key: string | undefined;
  if (apiKey) {
    key = keyFor(apiKey, url, env, access, 'model.apiKey');
  } else {
    access.allowKey(variable, url, env, `Model "${model}"`);
    key = env[variable];
  }
  if (!key) {
    throw new ModelConfigError(
      `Model "${model}" needs an API key: set ${variable} in the environment of the RunTools server.`,
      { model, variable },
    );
  }
  const opts = { apiKey: key, baseURL: url, ...fetchOption(url, env, access) };
  if (provider === 'anthropic') return createAnthropic(opts)(model);
  if (provider === 'openai') return createOpenAI(opts)(model);
  return createGoogleGenerativeAI(opts)(model);
}

/**
 * The key a model spec's `apiKey` gives for requests to `url`: the key itself, or for
 * `env:NAME` the server's variable NAME when the operator allows it to go there.
 */
function keyFor(
  value: string | undefined,
  url: string,
  env: ModelEnvironment,
  access: ModelAccess,
  field: string,
): string | undefined {
  if (!value) return undefined;
  if (!value.startsWith('env:')) return value;
  const name = value.slice(4);
  access.allowKey(name, url, env, field);
  const v = env[name];
  if (!v)
    throw new ModelConfigError(`${field} reads ${name} from the environment, but it is not set.`, {
      variable: name,
    });
  return v;
}

/** The provider's `fetch` option for requests to `url`: pinned unless the URL is trusted. */
function fetchOption(
  url: string,
  env: ModelEnvironment,
  access: ModelAccess,
): { fetch?: typeof fetch } {
  const pinned = access.fetchFor(url, env);
  return pinned ? { fetch: pinned } : {};
}

let strict: ModelAccess | undefined;

/** No operator allowances: the default of a caller that passes no `ModelAccess`. */
function strictAccess(): ModelAccess {
  strict ??= new ModelAccess();
  return strict;
}

import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { ModelSpec, ProjectConfig } from '@runtools/sdk';
import { RunToolsError } from '@runtools/sdk/errors';
import type { LanguageModel } from 'ai';
import { scriptedModel } from './scripted-model.ts';

/** Where keys and endpoints come from: the server's environment, read once at the edge. */
export type ModelEnvironment = Readonly<Record<string, string | undefined>>;

/** A model name or spec that no provider can serve as configured (`model_unavailable`). */
export class ModelConfigError extends RunToolsError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('model_unavailable', message, { details });
    this.name = 'ModelConfigError';
  }
}

/** The environment variable holding each provider's API key. */
export const PROVIDER_KEYS = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  google: 'GOOGLE_GENERATIVE_AI_API_KEY',
} as const;

/**
 * The model `model: 'auto'` picks for each provider, in this order of preference: the first
 * provider whose key is set wins; with none, the scripted demo model.
 */
export const AUTO_MODELS = {
  anthropic: 'claude-sonnet-5-5',
  openai: 'gpt-5.4',
  google: 'gemini-pro-latest',
} as const;

/** What `model: 'auto'` resolves to with this environment: a provider and model, or `scripted`. */
export function autoModelChoice(
  env: ModelEnvironment,
): { provider: keyof typeof AUTO_MODELS; model: string } | { provider: 'scripted'; model: string } {
  for (const provider of ['anthropic', 'openai', 'google'] as const) {
    if (env[PROVIDER_KEYS[provider]]) return { provider, model: AUTO_MODELS[provider] };
  }
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
 * first provider with a key (`AUTO_MODELS`), else the scripted demo model; `'scripted'` is always
 * the scripted demo model (deterministic, no network).
 */
export function resolveModel(
  spec: ModelSpec,
  env: ModelEnvironment,
  config?: Pick<ProjectConfig, 'openaiCompatible'>,
): LanguageModel {
  if (typeof spec === 'string') {
    if (spec === 'scripted') return scriptedModel();
    if (spec === 'auto') {
      const choice = autoModelChoice(env);
      return choice.provider === 'scripted'
        ? scriptedModel()
        : providerModel(choice.provider, choice.model, env);
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
      return createOpenAICompatible({
        name: c.name,
        baseURL: c.baseURL,
        includeUsage: true,
        ...(c.apiKey ? { apiKey: keyValue(c.apiKey, env, 'openaiCompatible.apiKey') } : {}),
      }).chatModel(spec);
    }
    if (provider === 'runtools') return scriptedModel();
    return providerModel(provider, spec, env);
  }
  if (spec.provider === 'custom') {
    return createOpenAICompatible({
      name: 'custom',
      baseURL: chatBaseURL(spec.endpoint),
      includeUsage: true, // without it a streamed answer reports no token usage
      ...(spec.apiKey ? { apiKey: keyValue(spec.apiKey, env, 'model.apiKey') } : {}),
      ...(spec.headers ? { headers: spec.headers } : {}),
    }).chatModel(spec.model ?? 'default');
  }
  if (spec.provider === 'openai-compatible') {
    if (!spec.baseURL)
      throw new ModelConfigError('model.baseURL is required for provider "openai-compatible".');
    return createOpenAICompatible({
      name: 'openai-compatible',
      baseURL: spec.baseURL,
      includeUsage: true,
      ...(spec.apiKey ? { apiKey: keyValue(spec.apiKey, env, 'model.apiKey') } : {}),
    }).chatModel(spec.model);
  }
  return providerModel(spec.provider, spec.model, env, spec.baseURL, spec.apiKey);
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
  provider: keyof typeof PROVIDER_KEYS,
  model: string,
  env: ModelEnvironment,
  baseURL?: string,
  apiKey?: string,
): LanguageModel {
  const variable = PROVIDER_KEYS[provider];
  const key = apiKey ? keyValue(apiKey, env, 'model.apiKey') : env[variable];
  if (!key) {
    throw new ModelConfigError(
      `Model "${model}" needs an API key: set ${variable} in the environment of the RunTools server.`,
      { model, variable },
    );
  }
  const url = baseURL ?? env[`${provider.toUpperCase()}_BASE_URL`];
  const opts = { apiKey: key, ...(url ? { baseURL: url } : {}) };
  if (provider === 'anthropic') return createAnthropic(opts)(model);
  if (provider === 'openai') return createOpenAI(opts)(model);
  return createGoogleGenerativeAI(opts)(model);
}

function keyValue(value: string, env: ModelEnvironment, field: string): string {
  if (!value.startsWith('env:')) return value;
  const name = value.slice(4);
  const v = env[name];
  if (!v)
    throw new ModelConfigError(`${field} reads ${name} from the environment, but it is not set.`, {
      variable: name,
    });
  return v;
}

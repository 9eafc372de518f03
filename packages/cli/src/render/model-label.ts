import { autoModelChoice, PROVIDER_KEYS, providerOf } from '@runtools/agent';
import type { ModelSpec } from '@runtools/sdk';

const providerNames = { anthropic: 'Anthropic', openai: 'OpenAI', google: 'Google' } as const;

/**
 * How an agent's model is served, said in one line for `runtools dev`'s listing: which provider
 * a bare name goes to (and whether its key is set), what `auto` picks, where an OpenAI-compatible
 * model is served. `served` is the model as the server stores it (a bare name the project's
 * `openaiCompatible` server serves becomes explicit there).
 */
export function modelLabel(
  model: ModelSpec,
  served: ModelSpec,
  env: Readonly<Record<string, string | undefined>>,
): { text: string; warning?: string } {
  if (model === 'auto') {
    const choice = autoModelChoice(env);
    return choice.provider === 'scripted'
      ? { text: 'auto → scripted demo model', warning: 'no provider key set' }
      : { text: `auto → ${choice.model} (${providerNames[choice.provider]})` };
  }
  if (model === 'scripted') return { text: 'scripted demo model' };
  if (typeof model === 'string') {
    const provider = providerOf(model);
    if (provider === 'openai-compatible') {
      if (typeof served === 'object' && 'baseURL' in served && served.baseURL) {
        return { text: `${model} → OpenAI-compatible server at ${served.baseURL}` };
      }
      return {
        text: `${model} → OpenAI-compatible provider`,
        warning: 'none configured: set openaiCompatible: { baseURL } in runtools.config.ts',
      };
    }
    if (provider === 'runtools') return { text: model };
    const name = providerNames[provider];
    const key = PROVIDER_KEYS[provider];
    return env[key]
      ? { text: `${model} (${name})` }
      : { text: `${model} (${name})`, warning: `${key} is not set` };
  }
  if (model.provider === 'custom') {
    return { text: `${model.model ?? 'default'} at ${model.endpoint} (custom endpoint)` };
  }
  if (model.provider === 'openai-compatible') {
    return {
      text: `${model.model} → OpenAI-compatible server at ${model.baseURL ?? '(no baseURL)'}`,
    };
  }
  return { text: `${model.model} (${providerNames[model.provider]})` };
}

import { type CustomToolDescriptor, customToolTimeouts } from '@runtools/sdk/api';
import { z } from 'zod';
import type { AgentTool, ToolResult } from '../tool.ts';
import { toolFailure } from '../tool-failure.ts';
import { performSandboxOperation } from './sandbox-requests.ts';
import { maskSecrets } from './secret-mask.ts';
import type { ToolRunner } from './tool-runner.ts';

/** The most text one result gives the model (the rest is cut, and says so). */
const maxOutput = 64 * 1024;
/** `ctx.log`: characters per line, and lines per call (then one line says how many were dropped). */
const maxLogLine = 4000;
const maxLogLines = 1000;

export interface CustomToolsOptions {
  /** The runner of the bundle the tools are in. */
  runner: ToolRunner;
  /**
   * Where the values of declared secrets come from: the server's environment, as far as the
   * operator lets tools read it. Only a tool's declared names are looked up, per call.
   */
  secrets: Readonly<Record<string, string>>;
  /** Appended to the error of a missing secret: how to provide one on this server. */
  secretsHelp?: string;
  runId: string;
  metadata: Record<string, unknown>;
}

/**
 * A runtime's custom tools as agent tools: the model is shown each descriptor's JSON schema,
 * and a call goes to the bundle's tool runner (which validates the input with the tool's zod
 * schema) with the tool's declared secrets, its sandbox operations performed in the run's
 * sandbox, its log lines as `ctx.log` of the call. A declared secret the server does not have
 * is an error result naming the variable to set. Secrets that appear in what comes back
 * (output, errors, log lines) are masked.
 */
export function createCustomTools(
  descriptors: readonly CustomToolDescriptor[],
  options: CustomToolsOptions,
): Record<string, AgentTool> {
  return Object.fromEntries(descriptors.map((d) => [d.custom, customTool(d, options)]));
}

function customTool(
  descriptor: CustomToolDescriptor,
  options: CustomToolsOptions,
): AgentTool<Record<string, unknown>> {
  const name = descriptor.custom;
  return {
    name,
    description: descriptor.description,
    // The runner validates with the tool's own zod schema; here only that it is an object.
    inputSchema: z.record(z.string(), z.unknown()),
    modelSchema: descriptor.inputSchema,
    ...(descriptor.approval ? { approval: descriptor.approval } : {}),
    async execute(input, ctx): Promise<ToolResult> {
      const secrets: Record<string, string> = {};
      const missing: string[] = [];
      for (const secret of descriptor.secrets) {
        const value = options.secrets[secret];
        if (value === undefined || value === '') missing.push(secret);
        else secrets[secret] = value;
      }
      if (missing.length > 0) {
        return toolFailure(
          `${name} needs the secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which the server does not have: ` +
            `set ${missing.length > 1 ? 'them' : 'it'} in the server's environment${options.secretsHelp ? ` ${options.secretsHelp}` : ''}.`,
          { customTool: true, missingSecrets: missing },
        );
      }
      let lines = 0;
      const result = await options.runner.call({
        tool: name,
        input,
        secrets,
        runId: options.runId,
        metadata: options.metadata,
        timeoutMs: descriptor.timeoutMs ?? customToolTimeouts.defaultMs,
        signal: ctx.signal,
        onLog: (message) => {
          lines += 1;
          if (lines > maxLogLines + 1) return;
          const line =
            lines > maxLogLines
              ? `[more log lines of this call are dropped: at most ${maxLogLines} are kept]`
              : cut(maskSecrets(message, secrets), maxLogLine);
          ctx.log?.(line);
        },
        onRequest: (operation, signal) => performSandboxOperation(operation, ctx, signal),
      });
      return {
        // Masked before it is cut: a secret across the cut would otherwise show in part.
        output: cut(maskSecrets(result.output, secrets), maxOutput),
        isError: result.isError,
        metadata: { customTool: true, outcome: result.outcome },
      };
    },
  };
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}\n[cut at ${max} characters]` : text;
}

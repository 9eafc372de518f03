import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import type { Sandbox } from '@runtools/sandbox';
import type { McpServerConfig } from '@runtools/sdk';
import { RunToolsError } from '@runtools/sdk/errors';
import { z } from 'zod';
import { AddressPolicy } from '../net/address-policy.ts';
import { createPinnedFetch } from '../net/pinned-fetch.ts';
import type { AgentTool, ToolResult } from '../tools/tool.ts';
import { SandboxStdioTransport } from './sandbox-stdio-transport.ts';

/** How long a server may take to start and answer `initialize` and `tools/list`. */
const connectTimeoutMs = 60_000;
const defaultCallTimeoutMs = 60_000;
/** The most text one tool result gives the model (the rest is cut, and says so). */
const maxOutput = 64 * 1024;

export interface McpConnections {
  /** The servers' tools as agent tools, named `SERVER_TOOL`. */
  tools: Record<string, AgentTool>;
  /** Ends every connection (and the stdio servers' processes). */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** The run's sandbox: stdio servers run in it. */
  sandbox: Sandbox;
  signal: AbortSignal;
  /** Which addresses remote servers may be at (default: public ones only). */
  endpointPolicy?: AddressPolicy;
}

/**
 * Starts (stdio, inside the sandbox) or connects to (Streamable HTTP) each MCP server with the
 * official SDK's client, and lists its tools. A server that cannot start or list its tools fails
 * with `mcp_server_failed` naming it and why; once connected, a call that fails, hangs past its
 * timeout, or gets garbage is an error result the model sees, and the run goes on.
 */
export async function connectMcpServers(
  servers: Record<string, McpServerConfig>,
  options: ConnectOptions,
): Promise<McpConnections> {
  const clients: Client[] = [];
  const tools: Record<string, AgentTool> = {};
  const close = async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  };
  try {
    for (const [name, config] of Object.entries(servers)) {
      const { client, listed } = await connectOne(name, config, options);
      clients.push(client);
      for (const tool of listed) {
        const agentTool = toAgentTool(name, config, client, tool);
        if (tools[agentTool.name]) {
          throw new RunToolsError(
            'mcp_server_failed',
            `MCP server "${name}" has two tools named ${agentTool.name} once prefixed; narrow it with allow/deny.`,
          );
        }
        tools[agentTool.name] = agentTool;
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { tools, close };
}

async function connectOne(
  name: string,
  config: McpServerConfig,
  options: ConnectOptions,
): Promise<{ client: Client; listed: McpTool[] }> {
  let transport: Transport;
  let stdio: SandboxStdioTransport | undefined;
  if ('command' in config) {
    stdio = new SandboxStdioTransport(options.sandbox, {
      command: config.command,
      args: config.args,
      env: config.env,
      cwd: config.cwd,
    });
    transport = stdio;
  } else {
    // From the server's host, so the address checks of custom model endpoints apply.
    const pinned = createPinnedFetch({ policy: options.endpointPolicy ?? new AddressPolicy() });
    transport = new StreamableHTTPClientTransport(new URL(config.url), {
      requestInit: { headers: config.headers },
      fetch: pinned as typeof fetch,
    });
  }
  const client = new Client({ name: 'runtools', version: '0.1.0' });
  const failed = (error: unknown): RunToolsError =>
    new RunToolsError(
      'mcp_server_failed',
      `MCP server "${name}" could not be used: ${(error as Error)?.message ?? String(error)}${
        stdio?.stderr ? ` (its stderr: ${stdio.stderr.trim().slice(-500)})` : ''
      }`,
      { details: { server: name } },
    );
  try {
    await client.connect(transport, { timeout: connectTimeoutMs, signal: options.signal });
    const listed: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, {
        timeout: connectTimeoutMs,
        signal: options.signal,
      });
      listed.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined && listed.length < 1000);
    const allowed = listed.filter(
      (t) =>
        (config.allow === undefined || config.allow.includes(t.name)) &&
        !(config.deny ?? []).includes(t.name),
    );
    return { client, listed: allowed };
  } catch (error) {
    await client.close().catch(() => {});
    throw failed(error);
  }
}

/** Model tool names: letters, digits, `_` and `-`, at most 64 characters. */
function toolName(server: string, tool: string): string {
  return `${server}_${tool}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
}

function toAgentTool(
  server: string,
  config: McpServerConfig,
  client: Client,
  tool: McpTool,
): AgentTool<Record<string, unknown>> {
  const timeout = config.timeoutMs ?? defaultCallTimeoutMs;
  return {
    name: toolName(server, tool.name),
    description: `${tool.description ?? tool.title ?? tool.name} (tool "${tool.name}" of the MCP server "${server}")`,
    // The server validates its own input; here only that it is an object.
    inputSchema: z.record(z.string(), z.unknown()),
    modelSchema: tool.inputSchema as Record<string, unknown>,
    async execute(input, ctx): Promise<ToolResult> {
      try {
        const result = await client.callTool({ name: tool.name, arguments: input }, undefined, {
          signal: ctx.signal,
          timeout,
        });
        const text = contentText(result);
        return {
          output:
            text.length > maxOutput
              ? `${text.slice(0, maxOutput)}\n[cut at ${maxOutput} characters]`
              : text,
          isError: result.isError === true,
          metadata: { mcpServer: server, mcpTool: tool.name },
        };
      } catch (error) {
        return {
          output: `The MCP server "${server}" failed on ${tool.name}: ${(error as Error)?.message ?? String(error)}`,
          isError: true,
          metadata: { mcpServer: server, mcpTool: tool.name },
        };
      }
    },
  };
}

/** A call result as the text a model reads: text parts as they are, others described. */
function contentText(result: Awaited<ReturnType<Client['callTool']>>): string {
  const parts: string[] = [];
  for (const item of (result.content as Array<Record<string, unknown>> | undefined) ?? []) {
    if (item.type === 'text') parts.push(String(item.text));
    else if (item.type === 'resource') {
      const resource = item.resource as { uri?: string; text?: string } | undefined;
      parts.push(resource?.text ?? `[resource ${resource?.uri ?? ''}]`);
    } else if (item.type === 'resource_link') parts.push(`[resource ${String(item.uri)}]`);
    else parts.push(`[${String(item.type)} ${String(item.mimeType ?? '')}]`.trim());
  }
  if (parts.length === 0 && result.structuredContent !== undefined) {
    parts.push(JSON.stringify(result.structuredContent));
  }
  return parts.join('\n') || '(no output)';
}

import { useQuery } from '@tanstack/react-query';
import { CatalogIntegrationCard } from '../components/catalog-integration.tsx';
import { Panel, tableClass, tdClass, thClass } from '../components/key-fields.tsx';
import { EmptyState, ErrorNotice, Loading, PageHeader } from '../components/ui.tsx';
import { useClient } from '../session.tsx';

/**
 * The tool catalog (`GET /v1/tools`): marketplace integrations with their secrets and actions
 * (enabled for an agent from here), the core tools, and the custom tools and MCP servers the
 * deployed agents bring.
 */
export function ToolsPage() {
  const client = useClient();
  const catalog = useQuery({ queryKey: ['tools'], queryFn: () => client.tools.catalog() });
  const data = catalog.data;
  return (
    <>
      <PageHeader title="Tools" />
      {catalog.isPending ? <Loading what="the tool catalog" /> : null}
      {catalog.isError ? <ErrorNotice error={catalog.error} /> : null}
      {data ? (
        <div className="space-y-6">
          <Panel title="Marketplace integrations">
            <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
              RunTools' own code on each service's SDK, run by the server (never in a sandbox) with
              credentials from the secret store. An agent enables one by name:{' '}
              <code>
                tools: ['bash', 'github', {'{'} slack: ['post_message'] {'}'}]
              </code>
              .
            </p>
            <div className="space-y-4">
              {data.integrations.map((integration) => (
                <CatalogIntegrationCard key={integration.name} integration={integration} />
              ))}
            </div>
          </Panel>
          <Panel title="Core tools">
            <table aria-label="Core tools" className={tableClass}>
              <thead>
                <tr>
                  <th scope="col" className={thClass}>
                    Tool
                  </th>
                  <th scope="col" className={thClass}>
                    What it does
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.core.map((tool) => (
                  <tr key={tool.name}>
                    <td className={`${tdClass} font-mono`}>{tool.name}</td>
                    <td className={tdClass}>{tool.description}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Panel>
          <Panel title="Custom tools of deployed agents">
            {data.custom.length === 0 ? (
              <EmptyState title="No custom tools">
                <p>
                  A <code>defineTool()</code> listed in an agent's <code>tools</code> shows up here
                  once the agent is deployed (<code>runtools dev</code>,{' '}
                  <code>runtools deploy</code>).
                </p>
              </EmptyState>
            ) : (
              <table aria-label="Custom tools" className={tableClass}>
                <thead>
                  <tr>
                    <th scope="col" className={thClass}>
                      Tool
                    </th>
                    <th scope="col" className={thClass}>
                      Agent
                    </th>
                    <th scope="col" className={thClass}>
                      Secrets
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.custom.map((tool) => (
                    <tr key={`${tool.agent}/${tool.name}`}>
                      <td className={tdClass}>
                        <span className="font-mono">{tool.name}</span>
                        <span className="block text-xs text-zinc-600 dark:text-zinc-400">
                          {tool.description}
                        </span>
                      </td>
                      <td className={`${tdClass} font-mono`}>{tool.agent}</td>
                      <td className={`${tdClass} font-mono`}>{tool.secrets.join(', ') || '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Panel>
          <Panel title="MCP servers of deployed agents">
            {data.mcp.length === 0 ? (
              <EmptyState title="No MCP servers">
                <p>
                  An agent's <code>mcpServers</code> (stdio in its sandbox, or remote over HTTP)
                  show up here once it is deployed.
                </p>
              </EmptyState>
            ) : (
              <ul className="space-y-1 text-sm">
                {data.mcp.map((server) => (
                  <li key={`${server.agent}/${server.server}`}>
                    <span className="font-mono">{server.server}</span> of{' '}
                    <span className="font-mono">{server.agent}</span> ({server.transport})
                  </li>
                ))}
              </ul>
            )}
          </Panel>
        </div>
      ) : null}
    </>
  );
}

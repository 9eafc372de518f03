import assert from 'node:assert/strict';
import { it } from 'node:test';
import { describeEachDatabase } from '../../testing/test-databases.ts';
import { startTestServer } from '../../testing/test-server.ts';

const value = 'ghp_secretvalue0123456789abcdefghijkl';

describeEachDatabase('http /v1/secrets and /v1/tools', ({ open }) => {
  it('sets, lists (never values), replaces and deletes a secret, stored encrypted', async () => {
    const database = await open();
    await using server = await startTestServer(database);
    const set = await server.request('POST', '/v1/secrets', {
      body: { name: 'GITHUB_TOKEN', value },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(Object.keys(set.body as object).sort(), [
      'createdAt',
      'deploymentId',
      'name',
      'updatedAt',
    ]);
    const again = await server.request('POST', '/v1/secrets', {
      body: { name: 'GITHUB_TOKEN', value: `${value}-2` },
    });
    assert.equal(again.status, 200);
    const list = await server.request('GET', '/v1/secrets');
    assert.deepEqual(
      (list.body as { data: Array<{ name: string; deploymentId: null }> }).data.map((s) => [
        s.name,
        s.deploymentId,
      ]),
      [['GITHUB_TOKEN', null]],
    );
    assert.ok(!JSON.stringify([set.body, again.body, list.body]).includes(value));
    const rows = await database.db.selectFrom('secrets').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.match(rows[0]?.value ?? '', /^enc:v1:/);
    assert.ok(!JSON.stringify(rows).includes(value));
    assert.equal(await server.store.secrets.resolve('GITHUB_TOKEN', null), `${value}-2`);
    assert.equal((await server.request('DELETE', '/v1/secrets/GITHUB_TOKEN')).status, 204);
    const gone = await server.request('DELETE', '/v1/secrets/GITHUB_TOKEN');
    assert.equal(gone.status, 404);
    assert.equal((gone.body as { error: { code: string } }).error.code, 'secret_not_found');
  });

  it("reads a deployment's own value before the server-wide one", async () => {
    await using server = await startTestServer(await open());
    const runtime = await server.request('POST', '/v1/runtimes', {
      body: { slug: 'a', model: 'scripted', tools: ['github'] },
    });
    assert.equal(runtime.status, 201, JSON.stringify(runtime.body));
    const deployment = await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'a', runtimeId: (runtime.body as { id: string }).id, template: 'debian-13' },
    });
    const deploymentId = (deployment.body as { id: string }).id;
    await server.request('POST', '/v1/secrets', {
      body: { name: 'SLACK_BOT_TOKEN', value: 'xoxb-global' },
    });
    const own = await server.request('POST', '/v1/secrets', {
      body: { name: 'SLACK_BOT_TOKEN', value: 'xoxb-own', deploymentId },
    });
    assert.equal((own.body as { deploymentId: string }).deploymentId, deploymentId);
    assert.equal(await server.store.secrets.resolve('SLACK_BOT_TOKEN', deploymentId), 'xoxb-own');
    assert.equal(await server.store.secrets.resolve('SLACK_BOT_TOKEN', 'dep_other'), 'xoxb-global');
    const scoped = await server.request('GET', `/v1/secrets?deploymentId=${deploymentId}`);
    assert.equal((scoped.body as { data: unknown[] }).data.length, 1);
    const missing = await server.request('POST', '/v1/secrets', {
      body: { name: 'SLACK_BOT_TOKEN', value: 'x', deploymentId: 'dep_missing' },
    });
    assert.equal(missing.status, 404);
    await server.request('DELETE', `/v1/secrets/SLACK_BOT_TOKEN?deploymentId=${deploymentId}`);
    assert.equal(
      await server.store.secrets.resolve('SLACK_BOT_TOKEN', deploymentId),
      'xoxb-global',
    );
  });

  it('refuses bad names and values without echoing them, and keys without the admin scope', async () => {
    await using server = await startTestServer(await open());
    for (const body of [
      { name: 'lower', value: 'v' },
      { name: 'RUNTOOLS_API_KEY', value: 'v' },
      { name: 'OK', value: '' },
      { name: 'OK', value: 'v', extra: 1 },
    ]) {
      const r = await server.request('POST', '/v1/secrets', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal((r.body as { error: { code: string } }).error.code, 'invalid_input');
    }
    const long = 'S'.repeat(20_000);
    const tooLong = await server.request('POST', '/v1/secrets', {
      body: { name: 'OK', value: long },
    });
    assert.equal(tooLong.status, 400);
    assert.ok(!JSON.stringify(tooLong.body).includes(long));
    for (const scopes of [['deploy'], ['run'], ['sandboxes']] as const) {
      const { key } = await server.store.apiKeys.create({ name: scopes[0], scopes: [...scopes] });
      for (const [method, path] of [
        ['GET', '/v1/secrets'],
        ['POST', '/v1/secrets'],
        ['DELETE', '/v1/secrets/OK'],
      ] as const) {
        const r = await server.request(method, path, {
          key,
          ...(method === 'POST' ? { body: { name: 'OK', value } } : {}),
        });
        assert.equal(r.status, 403, `${scopes[0]} ${method} ${path}`);
      }
    }
  });

  it('lists core tools, integrations with their actions and secrets (configured or not), custom and MCP tools', async () => {
    await using server = await startTestServer(await open());
    await server.request('POST', '/v1/secrets', { body: { name: 'GITHUB_TOKEN', value } });
    const runtime = await server.request('POST', '/v1/runtimes', {
      body: {
        slug: 'b',
        model: 'scripted',
        tools: ['bash', { slack: ['post_message'] }],
        mcpServers: { docs: { url: 'https://mcp.example.com/mcp', allow: ['search'] } },
      },
    });
    await server.request('POST', '/v1/deployments', {
      body: { apiSlug: 'b', runtimeId: (runtime.body as { id: string }).id, template: 'debian-13' },
    });
    const { key } = await server.store.apiKeys.create({ name: 'deployer', scopes: ['deploy'] });
    const r = await server.request('GET', '/v1/tools', { key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const catalog = r.body as {
      core: Array<{ name: string; inputSchema: { type: string } }>;
      integrations: Array<{
        name: string;
        configured: boolean;
        oauth: boolean;
        connection: { account: string } | null;
        secrets: Array<{ name: string; configured: boolean; required: boolean }>;
        actions: Array<{ name: string; approval: string; inputSchema: { properties: object } }>;
      }>;
      mcp: Array<{ agent: string; server: string; transport: string }>;
    };
    assert.deepEqual(
      catalog.core.map((t) => t.name),
      ['bash', 'read_file', 'edit_file', 'grep', 'glob', 'web_search'],
    );
    const github = catalog.integrations.find((i) => i.name === 'github');
    assert.equal(github?.configured, true);
    assert.ok(
      github?.actions.some(
        (a) => a.name === 'github_create_issue' && 'title' in a.inputSchema.properties,
      ),
    );
    const slack = catalog.integrations.find((i) => i.name === 'slack');
    assert.deepEqual(
      slack?.secrets.map((s) => [s.name, s.configured, s.required]),
      [
        ['SLACK_REFRESH_TOKEN', false, false],
        ['SLACK_TOKEN_EXPIRES_AT', false, false],
        ['SLACK_CLIENT_ID', false, false],
        ['SLACK_CLIENT_SECRET', false, false],
        ['SLACK_BOT_TOKEN', false, true],
      ],
    );
    assert.equal(slack?.configured, false);
    assert.equal(slack?.oauth, true);
    assert.equal(slack?.connection, null);
    // Gmail's secrets are each optional, but it needs a token of some kind.
    assert.equal(catalog.integrations.find((i) => i.name === 'gmail')?.configured, false);
    assert.deepEqual(
      catalog.integrations
        .find((i) => i.name === 'stripe')
        ?.actions.filter((a) => a.approval === 'always')
        .map((a) => a.name),
      ['stripe_create_payment_link', 'stripe_create_checkout_session', 'stripe_create_refund'],
    );
    assert.deepEqual(catalog.mcp, [
      { agent: 'b', server: 'docs', transport: 'http', allow: ['search'], deny: null },
    ]);
    assert.ok(!JSON.stringify(r.body).includes(value));
    const runKey = await server.store.apiKeys.create({ name: 'app', scopes: ['run'] });
    assert.equal((await server.request('GET', '/v1/tools', { key: runKey.key })).status, 403);
  });

  it('refuses an agent naming an unknown integration action or one integration twice', async () => {
    await using server = await startTestServer(await open());
    for (const tools of [
      [{ slack: ['post_mesage'] }],
      ['github', { github: ['get_issue'] }],
      [{ slack: ['post_message'], github: ['get_issue'] }],
    ]) {
      const r = await server.request('POST', '/v1/runtimes', {
        body: { slug: 'c', model: 'scripted', tools },
      });
      assert.equal(r.status, 400, JSON.stringify(tools));
    }
  });
});

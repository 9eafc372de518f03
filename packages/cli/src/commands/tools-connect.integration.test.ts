import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loopbackRanges } from '@runtools/agent';
import { FakeSlack } from '@runtools/agent/testing';
import { CliProcess, type CliServer, startCliServer } from '../testing/remote-cli-fixture.ts';

const botToken = 'xoxb-cli-connect-0123456789abcdef';

describe('runtools tools connect (the CLI as a child process, a real server, a fake Slack)', () => {
  let slack: FakeSlack;
  let cp: CliServer;
  before(async () => {
    slack = await FakeSlack.start(botToken);
    cp = await startCliServer({
      integrationBaseUrls: { slack: slack.apiUrl },
      integrationAllow: loopbackRanges,
    });
    await cp.rt.secrets.set({ name: 'SLACK_CLIENT_ID', value: slack.oauthClient.id });
    await cp.rt.secrets.set({ name: 'SLACK_CLIENT_SECRET', value: slack.oauthClient.secret });
  });
  after(async () => {
    await cp?.[Symbol.asyncDispose]();
    await slack?.close();
  });

  it('prints the consent page, waits for the consent, and names the connected workspace', async () => {
    const cli = new CliProcess(['tools', 'connect', 'slack', '--no-open'], { env: cp.env });
    await cli.waitForOutput(/^http\S+$/m);
    const authorizeUrl = /^(http\S+)$/m.exec(cli.stdout)?.[1] ?? '';
    // The person's browser: the consent page (approved at once by the fake), then the callback.
    const approved = await fetch(authorizeUrl, { redirect: 'manual' });
    const page = await fetch(approved.headers.get('location') ?? '');
    assert.equal(page.status, 200);
    const result = await cli.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Connected Slack: workspace Fake Workspace/);
    assert.ok(!result.stdout.includes(botToken) && !result.stderr.includes(botToken));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readOutboundSettings } from './outbound-settings.ts';

describe('readOutboundSettings', () => {
  it('reads the lists, and empty ones when unset', () => {
    assert.deepEqual(readOutboundSettings({}), {
      webhookAllow: [],
      modelEndpointAllow: [],
      modelBaseURLs: [],
      modelKeyVariables: [],
      integrationAllow: [],
      integrationBaseUrls: {},
    });
    assert.deepEqual(
      readOutboundSettings({
        RUNTOOLS_WEBHOOK_ALLOW: '127.0.0.1/32, 10.0.0.0/8',
        RUNTOOLS_MODEL_ENDPOINT_ALLOW: 'fd00::/8',
        RUNTOOLS_MODEL_BASE_URLS: 'https://gw.example.com/v1,http://10.0.0.5:8000/v1',
        RUNTOOLS_MODEL_KEY_VARS: 'LLAMA_API_KEY, TOGETHER_API_KEY',
        RUNTOOLS_INTEGRATION_ALLOW: '10.0.0.0/8',
        RUNTOOLS_GITHUB_API_URL: 'https://github.example.com/api/v3',
      }),
      {
        webhookAllow: ['127.0.0.1/32', '10.0.0.0/8'],
        modelEndpointAllow: ['fd00::/8'],
        modelBaseURLs: ['https://gw.example.com/v1', 'http://10.0.0.5:8000/v1'],
        modelKeyVariables: ['LLAMA_API_KEY', 'TOGETHER_API_KEY'],
        integrationAllow: ['10.0.0.0/8'],
        integrationBaseUrls: { github: 'https://github.example.com/api/v3' },
      },
    );
  });

  it('names every malformed variable and the bad entry', () => {
    assert.throws(
      () =>
        readOutboundSettings({
          RUNTOOLS_WEBHOOK_ALLOW: '10.0.0.0/8,localhost',
          RUNTOOLS_MODEL_BASE_URLS: 'ftp://gw.example.com',
          RUNTOOLS_MODEL_KEY_VARS: 'A-B',
          RUNTOOLS_SLACK_API_URL: 'not a url',
        }),
      (error: Error) => {
        assert.match(
          error.message,
          /RUNTOOLS_WEBHOOK_ALLOW: "localhost" is not an IP address range/,
        );
        assert.match(error.message, /RUNTOOLS_MODEL_BASE_URLS: "ftp:\/\/gw\.example\.com"/);
        assert.match(error.message, /RUNTOOLS_MODEL_KEY_VARS/);
        assert.match(error.message, /RUNTOOLS_SLACK_API_URL: an http\(s\) URL/);
        return true;
      },
    );
  });
});

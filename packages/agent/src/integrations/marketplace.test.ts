import assert from 'node:assert/strict';
import { it } from 'node:test';
import { integrationActions } from '@runtools/sdk';
import { marketplace } from './marketplace.ts';

it("offers each built integration's actions exactly as the contract names them", () => {
  for (const integration of marketplace) {
    assert.deepEqual(
      integration.actions.map((a) => a.name),
      [...integrationActions[integration.name]],
      integration.name,
    );
    for (const action of integration.actions)
      assert.ok(action.description.length > 40, action.name);
  }
});

import { RunToolsError } from '@runtools/sdk';
import type { Kysely, Transaction } from 'kysely';
import { sealDefinitionSecrets } from '../secrets/definition-secrets.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import { sealWebhookSecret } from '../secrets/webhook-secret.ts';
import type { Schema } from './schema.ts';

const checkContext = 'secret_key_check';
const checkText = 'runtools secret key check';

/**
 * Makes sure this server's key is the one the database's secrets are encrypted with. The first
 * open with a key records a check value sealed with it and, in the same transaction, encrypts the
 * secrets older servers stored in plaintext; every later open decrypts the check value, so a
 * server with another key stops at start with `secret_key_mismatch` (saying where its key came
 * from) instead of failing on every secret it reads. Servers opening one PostgreSQL database at
 * once agree: the check row's primary key lets one of them record its key, the others check it.
 * Returns how many plaintext secrets it encrypted.
 */
export async function checkSecretKey(
  db: Kysely<Schema>,
  box: SecretBox,
  source: string,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const recorded = await readCheck(trx);
    if (recorded !== undefined) {
      verify(recorded, box, source);
      return 0;
    }
    const inserted = await trx
      .insertInto('secret_key_check')
      .values({
        id: 'current',
        key_id: box.keyId,
        check_value: box.seal(checkText, checkContext),
        created_at: new Date().toISOString(),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted === undefined) {
      const other = await readCheck(trx);
      if (other !== undefined) verify(other, box, source);
      return 0;
    }
    return sealPlaintextSecrets(trx, box);
  });
}

async function readCheck(trx: Transaction<Schema>) {
  return trx
    .selectFrom('secret_key_check')
    .select(['key_id', 'check_value'])
    .where('id', '=', 'current')
    .executeTakeFirst();
}

function verify(check: { key_id: string; check_value: string }, box: SecretBox, source: string) {
  let ok: boolean;
  try {
    ok = box.open(check.check_value, checkContext) === checkText;
  } catch {
    ok = false;
  }
  if (ok) return;
  throw new RunToolsError(
    'secret_key_mismatch',
    `The secret key from ${source} (id ${box.keyId}) is not the key this database's secrets are encrypted with (id ${check.key_id}). Start the server with that key (RUNTOOLS_SECRET_KEY, or the data directory's secret.key it was generated into); without it the stored webhook secrets and model keys cannot be read.`,
    { details: { keyId: box.keyId, expectedKeyId: check.key_id, source } },
  );
}

/** Encrypts the webhook secrets and runtime model keys stored in plaintext before 0007. */
async function sealPlaintextSecrets(trx: Transaction<Schema>, box: SecretBox): Promise<number> {
  let sealed = 0;
  const webhooks = await trx
    .selectFrom('webhooks')
    .select(['id', 'secret'])
    .where('secret', 'not like', 'enc:%')
    .execute();
  for (const { id, secret } of webhooks) {
    await trx
      .updateTable('webhooks')
      .set({ secret: sealWebhookSecret(secret, box, id) })
      .where('id', '=', id)
      .execute();
    sealed += 1;
  }
  // Only definitions that name a key or headers can hold one; the rest are not parsed.
  const runtimes = await trx
    .selectFrom('runtimes')
    .select(['id', 'definition'])
    .where((eb) =>
      eb.or([eb('definition', 'like', '%"apiKey"%'), eb('definition', 'like', '%"headers"%')]),
    )
    .execute();
  for (const { id, definition } of runtimes) {
    const parsed: unknown = JSON.parse(definition);
    const next = sealDefinitionSecrets(parsed, box, id);
    if (next === parsed) continue;
    await trx
      .updateTable('runtimes')
      .set({ definition: JSON.stringify(next) })
      .where('id', '=', id)
      .execute();
    sealed += 1;
  }
  return sealed;
}

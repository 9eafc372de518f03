import { z } from 'zod';
import { timestampSchema } from './common.ts';

/** The largest code bundle the API takes (`PUT /v1/bundles/{sha256}`). */
export const maxBundleBytes = 20 * 1024 * 1024;

/** A bundle's name: the SHA-256 of its bytes, as 64 lowercase hex digits. */
export const bundleHashSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'the SHA-256 of the bundle, as 64 lowercase hex digits')
  .meta({ example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });

export const bundleParamSchema = z.object({ sha256: bundleHashSchema });

/**
 * A project's code, bundled (one ES module with everything it imports): what a runtime's custom
 * tools run. Stored once by its hash, so re-uploading the same code is a no-op.
 */
export const bundleSchema = z
  .object({
    sha256: bundleHashSchema,
    /** Bytes. */
    size: z.number().int(),
    createdAt: timestampSchema,
  })
  .meta({ id: 'Bundle' });

export type Bundle = z.infer<typeof bundleSchema>;

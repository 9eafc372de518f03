import { z } from 'zod';
import { InvalidOptionsError } from './errors.ts';

const slug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"');

const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => p.startsWith('/') && !p.includes('\0') && !p.split('/').includes('..'), {
    message: 'an absolute path without ".." segments',
  });

const cidr = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/,
    'an IPv4 address or CIDR such as 203.0.113.0/24',
  );

export const resourcesSchema = z
  .object({
    /** CPU cores (fractions allowed), enforced by the CFS quota. */
    cpu: z.number().positive().max(256).default(1),
    memoryMiB: z
      .number()
      .int()
      .min(16)
      .max(1024 * 1024)
      .default(512),
    /** Maximum number of processes and threads (stops fork bombs). */
    pids: z
      .number()
      .int()
      .min(8)
      .max(1 << 22)
      .default(512),
    /**
     * Size limit of the sandbox's writable layer (what it writes on top of its template, and
     * `/.rt/run`); the engine's `diskMiB` (default `DEFAULT_DISK_MIB`) when absent.
     */
    diskMiB: z
      .number()
      .int()
      .min(16)
      .max(1024 * 1024)
      .optional(),
  })
  .strict();

/** Disk quota of a sandbox that asks for none and whose engine sets no other default (4 GiB). */
export const DEFAULT_DISK_MIB = 4096;

export const volumeNameSchema = slug;

export const createOptionsSchema = z
  .object({
    template: slug,
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a shell variable name'), z.string())
      .default({}),
    cwd: absolutePath.optional(),
    metadata: z.record(z.string(), z.string()).default({}),
    /** The sandbox is paused or stopped (`onTimeout`) after running this long. */
    timeoutMs: z
      .number()
      .int()
      .positive()
      .max(30 * 24 * 3600 * 1000)
      .optional(),
    onTimeout: z.enum(['pause', 'kill']).default('kill'),
    resources: resourcesSchema.default({ cpu: 1, memoryMiB: 512, pids: 512 }),
    network: z
      .object({
        mode: z.enum(['none', 'egress']).default('none'),
        allowOut: z.array(cidr).optional(),
      })
      .strict()
      .default({ mode: 'none' }),
    volumes: z
      .array(
        z
          .object({
            name: volumeNameSchema,
            mountPath: absolutePath,
            readOnly: z.boolean().default(false),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type CreateSandboxInput = z.input<typeof createOptionsSchema>;
export type CreateSandboxOptions = z.output<typeof createOptionsSchema>;

/** Validates input with a schema; failures become one `InvalidOptionsError` naming every field. */
export function parseOptions<T extends z.ZodType>(
  schema: T,
  input: unknown,
  what: string,
): z.output<T> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new InvalidOptionsError(`Invalid ${what}: ${issues.join('; ')}.`, { issues });
}

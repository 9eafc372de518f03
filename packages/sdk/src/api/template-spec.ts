import { z } from 'zod';

/** The operating systems a spec template can name. */
export const operatingSystems = ['debian-13', 'debian-12', 'ubuntu-24.04', 'ubuntu-22.04'] as const;
export type OperatingSystem = (typeof operatingSystems)[number];

/**
 * The runtime versions each operating system ships: a spec's `runtimes` naming these installs the
 * OS's own packages; other Node.js versions (and Bun) come from the npm registry.
 */
export const osRuntimeVersions = {
  'debian-13': { node: '20', python: '3.13' },
  'debian-12': { node: '18', python: '3.11' },
  'ubuntu-24.04': { node: '18', python: '3.12' },
  'ubuntu-22.04': { node: '12', python: '3.10' },
} as const satisfies Record<OperatingSystem, { node: string; python: string }>;

/** The language runtimes a spec can install at a version. */
export const runtimeNames = ['node', 'python', 'bun'] as const;

export const templateSlugSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"')
  .meta({ example: 'my-app' });

const debianPackage = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/,
    'a Debian package name (optionally =version)',
  );
const npmPackage = z
  .string()
  .regex(
    /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*(@[^\s]+)?$/,
    'an npm package spec such as pnpm or typescript@5',
  );
const pipPackage = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?([<>=!~]=?[A-Za-z0-9.*+!_-]+)?$/,
    'a pip requirement such as requests or numpy==2.2',
  );

const runtimesField = z.array(
  z
    .object({
      name: z.string().min(1),
      version: z
        .string()
        .min(1)
        .max(32)
        .regex(/^[0-9a-z.x*-]+$/, 'a version such as 20, 3.13 or latest'),
    })
    .strict(),
);
const envField = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string());

/** The fields of a spec besides its slug: what the template contains. */
export const templateSpecFields = {
  os: z.enum(operatingSystems),
  /** e.g. `{ name: 'node', version: '22' }`, `{ name: 'python', version: '3' }`. */
  runtimes: runtimesField.default([]),
  apt: z.array(debianPackage).default([]),
  npm: z.array(npmPackage).default([]),
  pip: z.array(pipPackage).default([]),
  env: envField.default({}),
  /** Started in the background in every new sandbox of this template. */
  startCmd: z.string().min(1).optional(),
  /** Polled after startCmd until it exits 0: the sandbox is handed out only then. */
  readyCmd: z.string().min(1).optional(),
};

/** The same fields, all optional and without defaults: a spec given flat in a template body. */
export const flatSpecFields = {
  os: templateSpecFields.os.optional(),
  runtimes: runtimesField.optional(),
  apt: z.array(debianPackage).optional(),
  npm: z.array(npmPackage).optional(),
  pip: z.array(pipPackage).optional(),
  env: envField.optional(),
  startCmd: templateSpecFields.startCmd,
  readyCmd: templateSpecFields.readyCmd,
};

/** The names of a spec's fields (besides its slug). */
export const specFieldNames = Object.keys(templateSpecFields) as Array<
  keyof typeof templateSpecFields
>;

/** A template defined by what it contains. */
export const templateSpecSchema = z
  .object({ slug: templateSlugSchema, ...templateSpecFields })
  .strict();

export type TemplateSpecInput = z.input<typeof templateSpecSchema>;
export type TemplateSpec = z.output<typeof templateSpecSchema>;

import { z } from 'zod';

/** Operating systems a spec template can name, and where their packages come from. */
export const OPERATING_SYSTEMS = {
  'debian-13': { family: 'debian', suite: 'trixie', node: '20', python: '3.13' },
  'debian-12': { family: 'debian', suite: 'bookworm', node: '18', python: '3.11' },
  'ubuntu-24.04': { family: 'ubuntu', suite: 'noble', node: '18', python: '3.12' },
  'ubuntu-22.04': { family: 'ubuntu', suite: 'jammy', node: '12', python: '3.10' },
} as const;
export type OperatingSystem = keyof typeof OPERATING_SYSTEMS;

export const RUNTIME_NAMES = ['node', 'python', 'bun'] as const;

const slug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-"');

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

/** A template defined by what it contains; the public API takes exactly this shape. */
export const templateSpecSchema = z
  .object({
    slug,
    os: z.enum(Object.keys(OPERATING_SYSTEMS) as [OperatingSystem, ...OperatingSystem[]]),
    runtimes: z
      .array(
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
      )
      .default([]),
    apt: z.array(debianPackage).default([]),
    npm: z.array(npmPackage).default([]),
    pip: z.array(pipPackage).default([]),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    /** Started in the background in every new sandbox of this template. */
    startCmd: z.string().min(1).optional(),
    /** Polled after startCmd until it exits 0: the sandbox is handed out only then. */
    readyCmd: z.string().min(1).optional(),
  })
  .strict();

export type TemplateSpecInput = z.input<typeof templateSpecSchema>;
export type TemplateSpec = z.output<typeof templateSpecSchema>;

/** Packages every template has: what the core agent tools need inside a sandbox. */
export const BASE_PACKAGES = [
  'bash',
  'coreutils',
  'ripgrep',
  'procps',
  'ca-certificates',
  'findutils',
  'grep',
  'sed',
];

/**
 * The system templates: built on demand from Debian 13 packages and cached; a changed definition
 * is a new version.
 */
export const SYSTEM_TEMPLATES: Record<string, TemplateSpecInput> = {
  'debian-13': {
    slug: 'debian-13',
    os: 'debian-13',
    apt: ['python3-minimal'],
    env: { HOME: '/root', LANG: 'C.UTF-8' },
  },
  'nodejs-20': {
    slug: 'nodejs-20',
    os: 'debian-13',
    runtimes: [
      { name: 'node', version: '20' },
      { name: 'bun', version: 'latest' },
    ],
    apt: ['git'],
    npm: ['pnpm'],
    env: { HOME: '/root', LANG: 'C.UTF-8' },
  },
  'python-ml': {
    slug: 'python-ml',
    os: 'debian-13',
    runtimes: [{ name: 'python', version: '3' }],
    apt: ['python3-pip', 'python3-numpy', 'python3-pandas', 'python3-torch', 'git'],
    env: { HOME: '/root', LANG: 'C.UTF-8' },
  },
  'full-stack': {
    slug: 'full-stack',
    os: 'debian-13',
    runtimes: [
      { name: 'node', version: '20' },
      { name: 'python', version: '3' },
    ],
    apt: ['postgresql', 'redis-server', 'git'],
    env: { HOME: '/root', LANG: 'C.UTF-8' },
  },
};

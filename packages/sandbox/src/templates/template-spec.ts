import {
  type OperatingSystem,
  osRuntimeVersions,
  runtimeNames,
  type TemplateSpecInput,
} from '@runtools/sdk/api';

export {
  type OperatingSystem,
  type TemplateSpec,
  type TemplateSpecInput,
  templateSpecSchema,
} from '@runtools/sdk/api';

/** Where each operating system's packages come from, and the runtime versions it ships. */
export const OPERATING_SYSTEMS = {
  'debian-13': { family: 'debian', suite: 'trixie', ...osRuntimeVersions['debian-13'] },
  'debian-12': { family: 'debian', suite: 'bookworm', ...osRuntimeVersions['debian-12'] },
  'ubuntu-24.04': { family: 'ubuntu', suite: 'noble', ...osRuntimeVersions['ubuntu-24.04'] },
  'ubuntu-22.04': { family: 'ubuntu', suite: 'jammy', ...osRuntimeVersions['ubuntu-22.04'] },
} as const satisfies Record<
  OperatingSystem,
  { family: string; suite: string; node: string; python: string }
>;

export const RUNTIME_NAMES = runtimeNames;

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

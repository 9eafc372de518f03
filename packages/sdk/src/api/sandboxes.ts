import { z } from 'zod';
import { envSchema, plainTextSchema, textSchema, timestampSchema } from './common.ts';
import { pageQuerySchema } from './pagination.ts';

/** Every state a sandbox can be in. */
export const sandboxStates = ['creating', 'running', 'paused', 'stopped'] as const;
export type SandboxState = (typeof sandboxStates)[number];

/** What a sandbox's timeout does: pause it (memory kept) or stop and delete it. */
export const onTimeoutActions = ['pause', 'kill'] as const;
export const networkModes = ['none', 'egress'] as const;

/** The longest timeout a sandbox can have: 30 days. */
export const maxSandboxTimeoutMs = 30 * 24 * 3600 * 1000;

/** The body of `POST /v1/sandboxes`. */
export const sandboxInputSchema = z
  .object({
    /** The template's slug, e.g. `debian-13`. */
    template: textSchema(64).meta({ example: 'debian-13' }),
    /**
     * The sandbox is paused or stopped (`onTimeout`) after running this long: 15 minutes unless
     * given, so a forgotten sandbox does not hold memory forever; `0` for no timeout. PATCH
     * changes it later.
     */
    timeoutMs: z.number().int().min(0).max(maxSandboxTimeoutMs).optional(),
    env: envSchema.optional(),
    /** Working directory of commands (absolute). */
    cwd: textSchema(4096).optional(),
    metadata: z.record(textSchema(256), plainTextSchema(4096)).optional(),
    /** What the timeout does (default `kill`: the sandbox is deleted). */
    onTimeout: z.enum(onTimeoutActions).optional(),
    resources: z
      .object({
        cpu: z.number().positive().max(256).optional(),
        memoryMiB: z.number().int().min(16).max(1_048_576).optional(),
        pids: z.number().int().min(8).max(4_194_304).optional(),
        /** The sandbox's disk quota (default: the server's, 4 GiB unless configured). */
        diskMiB: z.number().int().min(16).max(1_048_576).optional(),
      })
      .strict()
      .optional(),
    /** `none` (default) or `egress`: outbound traffic, to `allowOut` CIDRs only when given. */
    network: z
      .object({
        mode: z.enum(networkModes),
        allowOut: z.array(textSchema(64)).max(256).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .meta({ id: 'SandboxInput' });

export type SandboxInput = z.input<typeof sandboxInputSchema>;

/** The body of `PATCH /v1/sandboxes/{id}`. */
export const sandboxPatchSchema = z
  .object({
    /** Pause or stop (per `onTimeout`) this long from now; 0 removes the timeout. */
    timeoutMs: z.number().int().min(0).max(maxSandboxTimeoutMs),
  })
  .strict()
  .meta({ id: 'SandboxPatch' });

export type SandboxPatch = z.input<typeof sandboxPatchSchema>;

/** A sandbox (`/v1/sandboxes`): an isolated machine started from a template. */
export const sandboxSchema = z
  .object({
    id: z.string(),
    state: z.enum(sandboxStates),
    template: z.string(),
    templateVersion: z.string(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
    cwd: z.string(),
    metadata: z.record(z.string(), z.string()),
    timeoutMs: z.number().nullable(),
    onTimeout: z.enum(onTimeoutActions),
    /** When a running sandbox will be paused or stopped by its timeout. */
    expiresAt: timestampSchema.nullable(),
    resources: z.object({
      cpu: z.number(),
      memoryMiB: z.number(),
      pids: z.number(),
      diskMiB: z.number().nullable(),
    }),
    network: z.object({
      mode: z.enum(networkModes),
      allowOut: z.array(z.string()).nullable(),
    }),
    /** Size of the memory snapshot of a paused sandbox. */
    snapshotBytes: z.number().nullable(),
    /**
     * The URL of a port's HTTP server, `{port}` to be replaced by the port number: its own host
     * (`http://{port}-sbx_….example.com/`) when the server has a domain (RUNTOOLS_DOMAIN; each
     * port is then its own browser origin), else a path under the API.
     */
    portUrl: z.string().meta({ example: 'http://{port}-sbx_0123456789abcdef.localhost:3000/' }),
  })
  .meta({ id: 'Sandbox' });

export type Sandbox = z.infer<typeof sandboxSchema>;

/** `GET /v1/sandboxes`: newest first, optionally in one state. */
export const sandboxListQuerySchema = pageQuerySchema.extend({
  state: z.enum(['running', 'paused']).optional(),
});

export type SandboxListParams = z.infer<typeof sandboxListQuerySchema>;

const argSchema = plainTextSchema(128 * 1024);

/** The body of `POST /v1/sandboxes/{id}/exec`. */
export const execInputSchema = z
  .object({
    /** A shell command (run by `/bin/sh -c`) or an argv array. */
    command: z.union([textSchema(128 * 1024), z.array(argSchema).min(1).max(4096)]),
    cwd: textSchema(4096).optional(),
    /** Added to the sandbox's environment for this command. */
    env: envSchema.optional(),
    /** The command's process group is killed after this long; the result has `timedOut`. */
    timeoutMs: z
      .number()
      .int()
      .positive()
      .max(24 * 3600 * 1000)
      .optional(),
    /** Start it and answer 202 with its pid at once, without waiting. */
    background: z.boolean().optional(),
    /** Written to the command's stdin, which is then closed. */
    stdin: z
      .string()
      .max(512 * 1024)
      .optional(),
  })
  .strict()
  .meta({ id: 'ExecInput' });

export type ExecInput = z.input<typeof execInputSchema>;

export const execResultSchema = z
  .object({
    exitCode: z.number(),
    stdout: z.string(),
    stderr: z.string(),
    /** Killed by its `timeoutMs`. */
    timedOut: z.boolean(),
    /** The signal that killed it, e.g. `SIGKILL`. */
    signal: z.string().optional(),
    /** Output beyond 10 MiB per stream was dropped. */
    truncated: z.boolean(),
    pid: z.number(),
    durationMs: z.number(),
  })
  .meta({ id: 'ExecResult' });

export type ExecResult = z.infer<typeof execResultSchema>;

/** What `exec` answers (202) for a command started with `background: true`. */
export const backgroundStartedSchema = z
  .object({ pid: z.number(), background: z.literal(true) })
  .meta({ id: 'BackgroundStarted' });

export type BackgroundStarted = z.infer<typeof backgroundStartedSchema>;

/** `?path=` of the file routes: absolute, or relative to the sandbox's cwd. */
export const filePathQuerySchema = z.object({
  /** Symlinks resolve inside the sandbox. */
  path: textSchema(4096).meta({ example: '/root/hello.txt' }),
});

export const directoryEntrySchema = z
  .object({
    name: z.string(),
    path: z.string(),
    type: z.enum(['file', 'directory', 'symlink', 'other']),
    size: z.number(),
    modifiedAt: timestampSchema,
  })
  .meta({ id: 'DirectoryEntry' });

export type DirectoryEntry = z.infer<typeof directoryEntrySchema>;

export const directoryListingSchema = z
  .object({
    path: z.string(),
    type: z.literal('directory'),
    entries: z.array(directoryEntrySchema),
  })
  .meta({ id: 'DirectoryListing' });

export type DirectoryListing = z.infer<typeof directoryListingSchema>;

export const writtenFileSchema = z
  .object({ path: z.string(), size: z.number() })
  .meta({ id: 'WrittenFile' });

export type WrittenFile = z.infer<typeof writtenFileSchema>;

/**
 * `WS /v1/sandboxes/{id}/pty`: a terminal in the sandbox. Without `session` a new login shell
 * starts on a new pseudo-terminal of `rows`×`cols` (default 24×80); with `session` (the pid a
 * previous connection was given) the client reconnects to that terminal and first receives its
 * recent output again (the last MiB), so the screen comes back.
 */
export const ptyQuerySchema = z
  .object({
    rows: z.coerce.number().int().min(1).max(1000).optional(),
    cols: z.coerce.number().int().min(1).max(1000).optional(),
    session: z.coerce.number().int().min(1).optional(),
  })
  .meta({ id: 'PtyQuery' });

/**
 * What a client sends: binary frames are keystrokes (bytes for the terminal); text frames are
 * JSON, `{"type":"input","data":"ls\r"}` or `{"type":"resize","rows":40,"cols":120}`.
 */
export const ptyClientMessageSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('input'), data: z.string().max(1024 * 1024) }),
    z.object({
      type: z.literal('resize'),
      rows: z.number().int().min(1).max(1000),
      cols: z.number().int().min(1).max(1000),
    }),
  ])
  .meta({ id: 'PtyClientMessage' });

export type PtyClientMessage = z.infer<typeof ptyClientMessageSchema>;

/**
 * What the server sends: binary frames are the terminal's output; text frames are JSON, first
 * `{"type":"session","pid"}` (reconnect with `?session=pid`), at the end
 * `{"type":"exit","exitCode","signal"?}` (then close 1000), or `{"type":"error","error"}`.
 */
export const ptyServerMessageSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('session'), pid: z.number().int() }),
    z.object({
      type: z.literal('exit'),
      exitCode: z.number().int(),
      signal: z.string().optional(),
    }),
    z.object({
      type: z.literal('error'),
      error: z.object({ code: z.string(), message: z.string() }),
    }),
  ])
  .meta({ id: 'PtyServerMessage' });

export type PtyServerMessage = z.infer<typeof ptyServerMessageSchema>;

/** A TCP port something listens on inside a sandbox (`GET /v1/sandboxes/{id}/ports`). */
export const listeningPortSchema = z
  .object({
    port: z.number().int().min(1).max(65535),
    /** What the socket is bound to (`0.0.0.0`, `127.0.0.1`, `::`); the proxy connects to 127.0.0.1. */
    addresses: z.array(z.string()),
    /** The port's URL through the proxy (the sandbox's `portUrl` with the port filled in). */
    url: z.string(),
  })
  .meta({ id: 'ListeningPort' });

export type ListeningPort = z.infer<typeof listeningPortSchema>;

export const listeningPortListSchema = z
  .object({ data: z.array(listeningPortSchema) })
  .meta({ id: 'ListeningPortList' });

/**
 * The query parameter of a port grant URL. The proxy takes it once, answers 303 to the same URL
 * without it and sets its port cookie instead, so the grant does not stay in the page's URL.
 */
export const portGrantParam = 'runtoolsGrant';

/** The body of `POST /v1/sandboxes/{id}/port-grants`. */
export const portGrantInputSchema = z
  .object({ port: z.number().int().min(1).max(65535).meta({ example: 3000 }) })
  .strict()
  .meta({ id: 'PortGrantInput' });

export type PortGrantInput = z.input<typeof portGrantInputSchema>;

/**
 * A link that opens one sandbox port in a browser without the API key: valid once, for a
 * minute. Opening it gives that browser the port's cookie (12 hours, ended with the key).
 */
export const portGrantSchema = z
  .object({
    port: z.number().int(),
    /** The port's URL with `?runtoolsGrant=…`: open it in a browser, once. */
    url: z.string().meta({
      example:
        'http://3000-sbx_0123456789abcdef.localhost:3000/?runtoolsGrant=bootstrap.1767225600000.n0nce.mac',
    }),
    /** The link is refused after this. */
    expiresAt: timestampSchema,
  })
  .meta({ id: 'PortGrant' });

export type PortGrant = z.infer<typeof portGrantSchema>;

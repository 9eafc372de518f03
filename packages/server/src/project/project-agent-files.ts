import { createHash, createHmac, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { RunToolsError } from '@runtools/sdk';
import type { AgentFileCreate, AgentFilePreview, ProjectAgent } from '@runtools/sdk/api';
import { createTwoFilesPatch } from 'diff';
import { agentFields, findProperty } from './agent-fields.ts';
import { checkDefinition, checkEditable } from './agent-file-check.ts';
import { type AgentFieldChanges, editAgentSource } from './agent-file-edit.ts';
import { AgentFileParseError, type ParsedAgentFile, parseAgentFile } from './agent-file-parse.ts';
import { newAgentSource } from './new-agent-source.ts';

/** An agent file as read: where it is, its text, and what the builder shows of it. */
export interface AgentFileRead {
  /** Absolute path. */
  path: string;
  text: string | null;
  snapshot: ProjectAgent;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const agentFileName = /\.(ts|mts|js|mjs)$/;
const notAgentFile = /\.(test|d)\.[mc]?[tj]s$/;
const indexFiles = ['index.ts', 'index.mts', 'index.js', 'index.mjs'];
/** What the project loader accepts as a slug: the only names a new file gets. */
const slugPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * The agent files of a project folder (`agents/NAME.ts`, `agents/NAME/index.ts`, as the project
 * loader finds them), read and written for the builder. Nothing outside `agents/` is written, a
 * file is found by listing the folder (a slug never becomes a path, except a new file's, whose
 * slug is checked), a symbolic link is never written through, and every write is atomic (a
 * temporary file beside it, renamed over it) and made only after the new text parses and passes
 * `defineAgent`'s checks.
 */
export class ProjectAgentFiles {
  readonly root: string;
  readonly #agentsDir: string;
  /** Texts served recently, by hash: the base of an edit made against an older version. */
  readonly #texts = new Map<string, string>();
  readonly #secret = randomBytes(32);
  /** Called after each write of this builder, with the file's relative path. */
  onWrite: ((file: string) => void) | undefined;

  constructor(root: string) {
    this.root = resolve(root);
    this.#agentsDir = join(this.root, 'agents');
  }

  /** Every agent file, in the loader's order. */
  async list(): Promise<AgentFileRead[]> {
    const out: AgentFileRead[] = [];
    for (const path of await this.#files()) out.push(await this.read(path));
    return out;
  }

  /** The file whose agent has `slug` (its `slug` literal, else its name): 404 `agent_file_not_found`. */
  async find(slug: string): Promise<AgentFileRead> {
    const all = await this.list();
    const found = all.find((a) => a.snapshot.slug === slug);
    if (found === undefined) {
      throw new RunToolsError(
        'agent_file_not_found',
        `No agent file defines the agent "${slug}".`,
        {
          details: { slug },
        },
      );
    }
    return found;
  }

  /** Reads one agent file (an absolute path this class listed). */
  async read(path: string): Promise<AgentFileRead> {
    const file = relative(this.root, path).split(sep).join('/');
    const fallbackSlug =
      basename(path).replace(agentFileName, '') === 'index'
        ? basename(dirname(path))
        : basename(path).replace(agentFileName, '');
    const base = { slug: fallbackSlug, file, fields: [], imports: [] };
    const linked = await this.#linkReason(path);
    if (linked !== undefined && !(await this.#inside(path))) {
      return {
        path,
        text: null,
        snapshot: { ...base, hash: '', source: null, editable: false, reason: linked },
      };
    }
    const bytes = await readFile(path).catch(() => null);
    if (bytes === null) {
      return {
        path,
        text: null,
        snapshot: { ...base, hash: '', source: null, editable: false, reason: 'cannot be read' },
      };
    }
    const text = bytes.toString('utf8');
    const hash = sha256(text);
    this.#remember(hash, text);
    const snapshot: ProjectAgent = { ...base, hash, source: text, editable: linked === undefined };
    if (linked !== undefined) snapshot.reason = linked;
    if (!Buffer.from(text, 'utf8').equals(bytes)) {
      snapshot.editable = false;
      snapshot.reason = 'not UTF-8 text';
      return { path, text, snapshot };
    }
    let parsed: ParsedAgentFile;
    try {
      parsed = parseAgentFile(text);
    } catch (error) {
      if (!(error instanceof AgentFileParseError)) throw error;
      snapshot.editable = false;
      snapshot.reason = 'the file does not parse; fix it in an editor';
      snapshot.parseError = error.problem;
      return { path, text, snapshot };
    }
    snapshot.fields = agentFields(parsed);
    const slugField = parsed.object ? findProperty(parsed.object, 'slug') : undefined;
    const slugValue = snapshot.fields.findLast((f) => f.name === 'slug')?.value;
    if (slugField !== undefined && typeof slugValue === 'string') snapshot.slug = slugValue;
    snapshot.imports = await this.#imports(path, parsed);
    if (parsed.object === null && snapshot.editable) {
      snapshot.editable = false;
      snapshot.reason = parsed.notFound ?? 'no agent object';
    }
    return { path, text, snapshot };
  }

  /** What `changes` would write to the agent `slug`'s file, made against `baseHash`. */
  async preview(
    slug: string,
    baseHash: string,
    changes: AgentFieldChanges,
  ): Promise<AgentFilePreview> {
    const current = await this.#editableFile(slug);
    const next = this.#edit(current, baseHash, changes);
    return {
      file: current.snapshot.file,
      diff:
        next === current.text ? '' : this.#diff(current.snapshot.file, current.text ?? '', next),
      source: next,
      hash: current.snapshot.hash,
    };
  }

  /** Writes `changes` into the agent `slug`'s file; the file's new snapshot. */
  async patch(slug: string, baseHash: string, changes: AgentFieldChanges): Promise<ProjectAgent> {
    const current = await this.#editableFile(slug);
    const next = this.#edit(current, baseHash, changes);
    if (next !== current.text) await this.#replace(current, next);
    return (await this.read(current.path)).snapshot;
  }

  /** Creates `agents/{slug}.ts` in the scaffold's style; 409 `agent_file_exists` when the slug or file is taken. */
  async create(input: AgentFileCreate): Promise<ProjectAgent> {
    if (!slugPattern.test(input.slug)) {
      throw new RunToolsError(
        'invalid_input',
        'The slug must be lowercase letters, digits and "-".',
      );
    }
    const text = newAgentSource(input);
    const parsed = parseAgentFile(text);
    checkDefinition(parsed, Object.fromEntries(agentFields(parsed).map((f) => [f.name, f.value])));
    const existing = await this.list();
    const taken = existing.find(
      (a) =>
        a.snapshot.slug === input.slug ||
        a.snapshot.file === `agents/${input.slug}.ts` ||
        a.snapshot.file.startsWith(`agents/${input.slug}/`),
    );
    if (taken) {
      throw new RunToolsError(
        'agent_file_exists',
        `${taken.snapshot.file} already defines "${input.slug}".`,
        {
          details: { file: taken.snapshot.file },
        },
      );
    }
    await mkdir(this.#agentsDir, { recursive: false }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    await this.#checkAgentsDir();
    const path = join(this.#agentsDir, `${input.slug}.ts`);
    const temp = join(this.#agentsDir, `.${input.slug}.ts.${randomBytes(6).toString('hex')}.tmp`);
    await writeNew(temp, text, 0o644);
    try {
      // A link fails when the name exists: a file made meanwhile is not overwritten.
      await link(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new RunToolsError('agent_file_exists', `agents/${input.slug}.ts already exists.`, {
          details: { file: `agents/${input.slug}.ts` },
        });
      }
      throw error;
    } finally {
      await unlink(temp).catch(() => {});
    }
    this.onWrite?.(`agents/${input.slug}.ts`);
    return (await this.read(path)).snapshot;
  }

  /** The removal of the agent `slug`'s file: its diff and the token `remove` wants. */
  async previewDelete(slug: string): Promise<AgentFilePreview> {
    const current = await this.#editableFile(slug);
    return {
      file: current.snapshot.file,
      diff: this.#diff(current.snapshot.file, current.text ?? '', ''),
      source: null,
      hash: current.snapshot.hash,
      confirm: this.#token(current.snapshot.file, current.snapshot.hash),
    };
  }

  /** Removes the agent `slug`'s file, if it is as `confirm` (from `previewDelete`) saw it. */
  async remove(slug: string, confirm: string): Promise<void> {
    const current = await this.#editableFile(slug);
    if (confirm !== this.#token(current.snapshot.file, current.snapshot.hash)) {
      throw new RunToolsError(
        'agent_file_conflict',
        'The confirmation is not for this file as it is now: preview the removal again.',
        {
          details: {
            file: current.snapshot.file,
            current: { hash: current.snapshot.hash, source: current.text },
          },
        },
      );
    }
    await unlink(current.path);
    // A multi-file agent's folder goes too when nothing else is in it.
    if (dirname(current.path) !== this.#agentsDir)
      await rmdir(dirname(current.path)).catch(() => {});
    this.onWrite?.(current.snapshot.file);
  }

  #token(file: string, hash: string): string {
    return createHmac('sha256', this.#secret).update(`${file}\0${hash}`).digest('base64url');
  }

  #diff(file: string, before: string, after: string): string {
    return createTwoFilesPatch(
      `a/${file}`,
      after === '' ? '/dev/null' : `b/${file}`,
      before,
      after,
      undefined,
      undefined,
      { context: 3 },
    );
  }

  /**
   * The text `changes` make of the file. Made against the current text when `baseHash` is its
   * hash; else against the base (a text served recently), merged into the current text when the
   * outside change touched none of the fields set, and a 409 `agent_file_conflict` with both
   * versions when it did (or the base is unknown).
   */
  #edit(current: AgentFileRead, baseHash: string, changes: AgentFieldChanges): string {
    const text = current.text ?? '';
    const parsed = parseAgentFile(text);
    if (current.snapshot.hash !== baseHash) {
      const base = this.#texts.get(baseHash);
      const conflict = (fields: string[], proposed: string | null) =>
        new RunToolsError(
          'agent_file_conflict',
          `${current.snapshot.file} changed on disk since it was read${fields.length ? `, in ${fields.join(', ')}` : ''}: reload it and make the change again.`,
          {
            details: {
              file: current.snapshot.file,
              fields,
              current: { hash: current.snapshot.hash, source: text },
              proposed: proposed === null ? null : { baseHash, source: proposed },
            },
          },
        );
      if (base === undefined) throw conflict(Object.keys(changes), null);
      let baseParsed: ParsedAgentFile;
      try {
        baseParsed = parseAgentFile(base);
      } catch {
        throw conflict(Object.keys(changes), null);
      }
      const touched = Object.keys(changes).filter(
        (name) => propertyText(baseParsed, name) !== propertyText(parsed, name),
      );
      if (touched.length > 0 || baseParsed.object === null) {
        let proposed: string | null = null;
        try {
          checkEditable(baseParsed, changes);
          proposed = editAgentSource(baseParsed, changes);
        } catch {
          proposed = null;
        }
        throw conflict(touched, proposed);
      }
    }
    checkEditable(parsed, changes);
    const next = editAgentSource(parsed, changes);
    checkDefinition(parseAgentFile(next), changes);
    return next;
  }

  async #editableFile(slug: string): Promise<AgentFileRead> {
    const current = await this.find(slug);
    if (!current.snapshot.editable || current.text === null) {
      throw new RunToolsError(
        'agent_file_read_only',
        `${current.snapshot.file} cannot be edited by the builder: ${current.snapshot.reason ?? 'read-only'}.`,
        {
          details: {
            file: current.snapshot.file,
            ...(current.snapshot.parseError ? { parseError: current.snapshot.parseError } : {}),
          },
        },
      );
    }
    return current;
  }

  /** Writes `text` over `current` atomically, unless the file changed since it was read. */
  async #replace(current: AgentFileRead, text: string): Promise<void> {
    const st = await lstat(current.path);
    if (!st.isFile())
      throw new RunToolsError(
        'agent_file_read_only',
        `${current.snapshot.file} is not a regular file.`,
      );
    const temp = join(
      dirname(current.path),
      `.${basename(current.path)}.${randomBytes(6).toString('hex')}.tmp`,
    );
    await writeNew(temp, text, st.mode & 0o7777);
    try {
      const now = await readFile(current.path, 'utf8');
      if (sha256(now) !== current.snapshot.hash) {
        throw new RunToolsError(
          'agent_file_conflict',
          `${current.snapshot.file} changed on disk during the write: reload it.`,
          {
            details: {
              file: current.snapshot.file,
              fields: [],
              current: { hash: sha256(now), source: now },
              proposed: null,
            },
          },
        );
      }
      this.#remember(sha256(text), text);
      await rename(temp, current.path);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    this.onWrite?.(current.snapshot.file);
  }

  #remember(hash: string, text: string): void {
    this.#texts.delete(hash);
    this.#texts.set(hash, text);
    while (this.#texts.size > 200) this.#texts.delete(this.#texts.keys().next().value as string);
  }

  /** The agent files, absolute; none when `agents/` is a link to outside the project. */
  async #files(): Promise<string[]> {
    try {
      await this.#checkAgentsDir();
    } catch {
      return [];
    }
    const entries = await readdir(this.#agentsDir, { withFileTypes: true }).catch(() => []);
    const files: string[] = [];
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(this.#agentsDir, e.name);
      const isDir =
        e.isDirectory() ||
        (e.isSymbolicLink() && (await stat(path).catch(() => null))?.isDirectory());
      const isFile =
        e.isFile() || (e.isSymbolicLink() && (await stat(path).catch(() => null))?.isFile());
      if (isFile && agentFileName.test(e.name) && !notAgentFile.test(e.name)) files.push(path);
      else if (isDir) {
        for (const index of indexFiles) {
          if (await stat(join(path, index)).catch(() => null)) {
            files.push(join(path, index));
            break;
          }
        }
      }
    }
    return files;
  }

  /** `agents/` must be a folder of the project itself (not a link to elsewhere). */
  async #checkAgentsDir(): Promise<void> {
    const st = await lstat(this.#agentsDir);
    if (!st.isDirectory()) {
      throw new RunToolsError('agent_file_read_only', 'agents/ is not a folder of the project.');
    }
  }

  /** Why a path is a link (it or its folder below `agents/`), undefined when it is not. */
  async #linkReason(path: string): Promise<string | undefined> {
    if ((await lstat(path).catch(() => null))?.isSymbolicLink())
      return 'a symbolic link; edit the file it points to';
    const dir = dirname(path);
    if (dir !== this.#agentsDir && (await lstat(dir).catch(() => null))?.isSymbolicLink()) {
      return 'in a linked folder; edit the files it points to';
    }
    return undefined;
  }

  /** True when `path` really is inside the project folder. */
  async #inside(path: string): Promise<boolean> {
    const real = await realpath(path).catch(() => null);
    const root = await realpath(this.root).catch(() => this.root);
    return real !== null && (real === root || real.startsWith(root + sep));
  }

  /** The project files the agent file imports with relative specifiers, relative to the root. */
  async #imports(path: string, parsed: ParsedAgentFile): Promise<string[]> {
    const out = new Set<string>();
    for (const statement of parsed.ast.program.body) {
      if (
        statement.type !== 'ImportDeclaration' &&
        statement.type !== 'ExportNamedDeclaration' &&
        statement.type !== 'ExportAllDeclaration'
      )
        continue;
      const spec = statement.source?.value;
      if (typeof spec !== 'string' || !/^\.{1,2}\//.test(spec)) continue;
      const target = resolve(dirname(path), spec);
      const candidates = [
        target,
        target.replace(/\.js$/, '.ts'),
        `${target}.ts`,
        join(target, 'index.ts'),
      ];
      for (const c of candidates) {
        if (!(await stat(c).catch(() => null))?.isFile()) continue;
        const rel = relative(this.root, c);
        if (!rel.startsWith('..') && !isAbsolute(rel) && (await this.#inside(c)))
          out.add(rel.split(sep).join('/'));
        break;
      }
    }
    return [...out];
  }
}

/** The source of property `name` in the file's agent object ('' when absent). */
function propertyText(parsed: ParsedAgentFile, name: string): string {
  if (parsed.object === null) return '';
  const p = findProperty(parsed.object, name);
  return p === undefined ? '' : parsed.text.slice(p.start ?? 0, p.end ?? 0);
}

/** Writes a new file (never an existing one, never through a link). */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  const handle = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode,
  );
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * File paths in task configs that arrive over the management API. A caller must not make the
 * process write checkpoints, or read certificates, anywhere on disk: every path a request names
 * has to resolve inside the data directory the operator configured (`serveHttp(..., { dataDir })`),
 * symbolic links included. Without a data directory no path may be named at all.
 * Paths are checked as the process will use them and are not rewritten.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import type { ConfigIssue } from '../core/errors.js';
import { formatPath } from '../config/load.js';
import type { TaskConfig } from '../config/schema.js';

/** Query parameters of PostgreSQL and MongoDB connection URIs that name files the client reads. */
const FILE_PARAM = /^(sslcert|sslkey|sslrootcert|sslcrl|sslca|sslpem|sslpemkeyfile|sslcafile)$|file$/i;
const PEM_START = '-----BEGIN';

/** Resolves (creating it if needed) the operator's data directory to its real absolute path. */
export async function realDataDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return realpath(dir);
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The real path of `path`: its nearest existing ancestor with symbolic links resolved, plus the rest. */
async function realOf(path: string): Promise<string> {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(existing), ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = dirname(existing);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === existing) throw err;
      rest.push(existing.slice(parent.length).replace(/^[/\\]+/, ''));
      existing = parent;
    }
  }
}

/** `checkpoints.dir` when a config leaves it out: the server's choice, not the caller's. */
const DEFAULT_CHECKPOINT_DIR = '.tributary/checkpoints';

/**
 * Checks every file path of a task config sent over HTTP, as the process will use it (a relative
 * path against the working directory): it must lie inside `dataDir` once symbolic links are
 * resolved, and may not contain a `..` segment. Returns one issue per path that does not, by its
 * config path. A `checkpoints.dir` left at its default is allowed without a data directory (the
 * caller chose nothing); every other path needs one.
 */
export async function confinePaths(config: TaskConfig, dataDir: string | undefined, cwd = process.cwd()): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];

  const check = async (path: readonly PropertyKey[], value: string): Promise<void> => {
    const where = formatPath(path);
    if (dataDir === undefined) {
      issues.push({
        path: where,
        message: 'names a file path, and this server takes no file paths in requests',
        fix: "Leave it out, or start the server with a data directory: serveHttp(runtime, { dataDir }) (`tributary run --http` uses its own task's checkpoints.dir).",
      });
      return;
    }
    const fix = `Name a path inside the server's data directory, ${dataDir} (an absolute path, or one relative to the server's working directory).`;
    const problem = await (async (): Promise<string | undefined> => {
      if (value.includes('\0')) return 'contains a NUL character';
      if (value.split(/[\\/]/).includes('..')) return 'contains a ".." segment';
      try {
        return isInside(dataDir, await realOf(resolve(cwd, value))) ? undefined : "is outside the server's data directory";
      } catch {
        return 'names a path that cannot be resolved';
      }
    })();
    if (problem !== undefined) issues.push({ path: where, message: problem, fix });
  };

  if (config.checkpoints.store === 'file' && (dataDir !== undefined || normalize(config.checkpoints.dir) !== normalize(DEFAULT_CHECKPOINT_DIR))) {
    await check(['checkpoints', 'dir'], config.checkpoints.dir);
  }

  // `caCert` is PEM text or a path to a PEM file; `uri` query parameters such as `sslrootcert` and
  // `tlsCAFile` name files the database clients read.
  const walk = async (value: unknown, path: PropertyKey[]): Promise<void> => {
    if (value === null || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'caCert' && typeof v === 'string') {
        if (!v.includes(PEM_START)) await check([...path, k], v);
      } else if (k === 'uri' && typeof v === 'string') {
        const q = v.indexOf('?');
        if (q === -1) continue;
        const params = new URLSearchParams(v.slice(q + 1).split('#')[0]);
        for (const [name, file] of params) if (FILE_PARAM.test(name)) await check([...path, k, name], file);
      } else await walk(v, [...path, k]);
    }
  };
  await walk(config.source, ['source']);
  await walk(config.destination, ['destination']);
  return issues;
}

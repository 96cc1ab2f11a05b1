import { CommandError, UsageError } from './errors.js';
import { readSavedLogin, type Env } from './saved-login.js';

/**
 * How the management commands (device, tenant, user, login…) talk to a running
 * Halyard: its REST API under /api, with fetch. Every failure becomes one
 * CommandError line that says what to do next.
 */

export const DEFAULT_URL = 'http://127.0.0.1:8080';

const TIMEOUT_MS = 30_000;
/** For best-effort calls (revoking a replaced token): they must not hold up the command. */
export const SHORT_TIMEOUT_MS = 5_000;

/** Flags of every command that calls the API. */
export const API_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const API_HELP = `Connection options (every subcommand):
      --url <url>        Halyard's HTTP address; default: HALYARD_URL, else the saved
                         login's, else ${DEFAULT_URL}
      --token <token>    API token or session token; default: HALYARD_TOKEN, else the
                         saved login's (see "halyard login")
  -h, --help             show this help`;

/** Where a token came from, for the hint when the server refuses it. */
export type TokenSource = 'flag' | 'env' | 'saved' | 'session';

/** An error answer of the API: `{ error: CODE, message, field? }` and its status. */
export class ApiError extends CommandError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The API's spelling of a field → the flag that sets it, so a 400 points at what to retype. */
const FIELD_FLAGS: Record<string, string> = {
  id: '--id',
  name: '--name',
  tenantId: '--tenant',
  profileId: '--profile',
  type: '--type',
  serial: '--serial',
  tags: '--tag',
  labels: '--label',
  username: '--username',
  role: '--role',
  days: '--days',
  maxConnections: '--max-connections',
  search: '--search',
};

/** `http://host:8080/` → `http://host:8080`; anything but an http(s) URL is a usage error. */
export function normalizeUrl(raw: string, from = '--url'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${from} must be a URL such as ${DEFAULT_URL} (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${from} must be an http:// or https:// URL (got "${raw}")`);
  }
  return url.href.replace(/\/+$/, '');
}

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

/** --url, else HALYARD_URL, else the saved login's URL, else the default. */
export function chooseUrl(flag: string | undefined, env: Env, savedUrl: string | undefined): string {
  if (flag !== undefined) return normalizeUrl(flag);
  const fromEnv = nonEmpty(env.HALYARD_URL);
  if (fromEnv !== undefined) return normalizeUrl(fromEnv, 'HALYARD_URL');
  return normalizeUrl(savedUrl ?? DEFAULT_URL, 'the saved login');
}

export interface ClientOptions {
  url: string;
  token?: string;
  tokenSource?: TokenSource;
  /** Default 30 s. */
  timeoutMs?: number;
}

type Query = Record<string, string | number | boolean | undefined>;

export class ApiClient {
  readonly url: string;
  private readonly token: string | undefined;
  private readonly tokenSource: TokenSource | undefined;
  private readonly timeoutMs: number;

  constructor(opts: ClientOptions) {
    this.url = opts.url;
    this.token = opts.token;
    this.tokenSource = opts.tokenSource;
    this.timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
  }

  /**
   * The client for a command's --url/--token flags: a token is required.
   * The saved token is used only for the URL it was saved with: it must
   * never be sent to another server.
   */
  static async fromFlags(values: { url?: string; token?: string }, env: Env): Promise<ApiClient> {
    const saved = await readSavedLogin(env);
    const url = chooseUrl(values.url, env, saved?.url);
    if (values.token !== undefined) return new ApiClient({ url, token: values.token, tokenSource: 'flag' });
    const envToken = nonEmpty(env.HALYARD_TOKEN);
    if (envToken !== undefined) return new ApiClient({ url, token: envToken, tokenSource: 'env' });
    if (saved && normalizeUrl(saved.url, 'the saved login') === url) {
      return new ApiClient({ url, token: saved.token, tokenSource: 'saved' });
    }
    throw new CommandError(
      `not logged in to ${url}: run "halyard login --url ${url} --username <name>", or set HALYARD_TOKEN`,
    );
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }

  delete<T = void>(path: string): Promise<T> {
    return this.request<T>('DELETE', path, {});
  }

  async request<T>(method: string, path: string, opts: { body?: unknown; query?: Query }): Promise<T> {
    const target = new URL(`${this.url}/api${path}`);
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      if (value !== undefined) target.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'halyard-cli' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await fetch(target, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (err) {
      throw this.unreachable(err);
    }
    const body = parseJson(text);
    if (response.ok) return body as T;
    throw this.refused(method, path, response.status, body);
  }

  private unreachable(err: unknown): CommandError {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      return new CommandError(`no answer from ${this.url} within ${this.timeoutMs / 1000} s`);
    }
    const cause =
      err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    const why = code ?? (typeof cause?.message === 'string' ? cause.message : String(err));
    const hint =
      code !== undefined && /CERT|SELF_SIGNED|VERIFY/.test(code)
        ? `; to trust Halyard's own CA, set NODE_EXTRA_CA_CERTS=<data dir>/tls/ca.crt`
        : ' (is Halyard running there? set --url or HALYARD_URL)';
    return new CommandError(`cannot reach Halyard at ${this.url}: ${why}${hint}`);
  }

  private refused(method: string, path: string, status: number, body: unknown): CommandError {
    if (!isErrorBody(body)) {
      return new CommandError(
        `${method} ${this.url}/api${path} answered HTTP ${status}, not a Halyard API error (is --url right?)`,
      );
    }
    let message = body.message;
    const flag =
      body.field === undefined ? undefined : FIELD_FLAGS[body.field.replace(/^(body|query)\./, '')];
    if (flag !== undefined && status === 400) message += ` (${flag})`;
    if (status === 401 && this.token !== undefined) message += this.loginHint();
    return new ApiError(message, status, body.error, body.field);
  }

  private loginHint(): string {
    switch (this.tokenSource) {
      case 'saved':
        return '; the saved login is no longer valid: run "halyard login" again';
      case 'flag':
      case 'env':
        return '; check --token / HALYARD_TOKEN, or run "halyard login"';
      default:
        return '';
    }
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isErrorBody(body: unknown): body is { error: string; message: string; field?: string } {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return (
    typeof b.error === 'string' &&
    typeof b.message === 'string' &&
    (b.field === undefined || typeof b.field === 'string')
  );
}

/** For ids in paths: an id with a "/" or "?" must not become another route. */
export const seg = (id: string): string => encodeURIComponent(id);

/**
 * HTTP plumbing of `migrec serve` on node:http: JSON replies, the error body `{ error: { code,
 * message } }` with its status (decided by the error's type and code, never its message), query
 * parameters checked one by one, and request bodies read under a size limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isMigrecError, isOptionError } from '../../index.js';

/** A failure with its HTTP status and a stable code (the library's codes, or one of the service's own). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A bad parameter or body: 400 `BAD_REQUEST`. */
export function badRequest(message: string): HttpError {
  return new HttpError(400, 'BAD_REQUEST', message);
}

/** Status of each library error code (bad input 400, unknown ids 404, a file that cannot be loaded 422). */
const STATUS_OF_CODE: Record<string, number> = {
  DATA: 400,
  USAGE: 400,
  OPTION: 400,
  NOT_SUPPORTED: 400,
  UNKNOWN_ID: 404,
  MODEL_FORMAT: 422,
  STORAGE: 422,
  MODEL_FIT: 422,
  NOT_FITTED: 503,
  KERNEL: 500,
};

/** Status, code and message of any failure; anything not raised on purpose is a 500 `INTERNAL`. */
export function describeFailure(e: unknown): { status: number; code: string; message: string } {
  if (e instanceof HttpError) return { status: e.status, code: e.code, message: e.message };
  if (isOptionError(e)) return { status: 400, code: 'OPTION', message: e.message };
  if (isMigrecError(e)) return { status: STATUS_OF_CODE[e.code] ?? 500, code: e.code, message: e.message.split('\n')[0] };
  return { status: 500, code: 'INTERNAL', message: e instanceof Error ? e.message.split('\n')[0] : String(e) };
}

/** Send a JSON body (already serialised, or a value to serialise). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Send the error body of a failure; returns its status. */
export function sendError(res: ServerResponse, e: unknown, headers: Record<string, string> = {}): number {
  const f = describeFailure(e);
  sendJson(res, f.status, { error: { code: f.code, message: f.message } }, headers);
  return f.status;
}

/** The query of a request, with each parameter read once and unknown parameters refused. */
export class Query {
  private readonly params: URLSearchParams;
  private readonly allowed: ReadonlySet<string>;

  /** @throws {HttpError} 400 for a parameter not in `allowed` or given twice. */
  constructor(params: URLSearchParams, allowed: readonly string[]) {
    this.params = params;
    this.allowed = new Set(allowed);
    const seen = new Set<string>();
    for (const key of params.keys()) {
      if (!this.allowed.has(key)) throw badRequest(`unknown query parameter ${JSON.stringify(key.slice(0, 60))} (this route takes: ${allowed.join(', ')})`);
      if (seen.has(key)) throw badRequest(`query parameter ${key} is given more than once`);
      seen.add(key);
    }
  }

  /** A string parameter, or undefined. @throws {HttpError} 400 when empty. */
  optional(name: string): string | undefined {
    const v = this.params.get(name);
    if (v === null) return undefined;
    if (v === '') throw badRequest(`query parameter ${name} is empty`);
    return v;
  }

  /** A required string parameter. @throws {HttpError} 400 when missing or empty. */
  required(name: string): string {
    const v = this.optional(name);
    if (v === undefined) throw badRequest(`missing query parameter ${name}`);
    return v;
  }

  /** A positive integer parameter (default `fallback`). @throws {HttpError} 400 otherwise. */
  positiveInt(name: string, fallback: number): number {
    const v = this.optional(name);
    return v === undefined ? fallback : positiveInt(v, `query parameter ${name}`);
  }

  /** `fallback=none|popularity` (default none). @throws {HttpError} 400 otherwise. */
  fallback(): 'none' | 'popularity' {
    return fallbackOf(this.optional('fallback') ?? 'none', 'query parameter fallback');
  }
}

/** A positive integer from text or JSON. @throws {HttpError} 400 naming `what`. */
export function positiveInt(v: unknown, what: string): number {
  const x = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x <= 0) throw badRequest(`${what} must be a positive integer (got ${JSON.stringify(v)?.slice(0, 60)})`);
  return x;
}

/** `none` or `popularity`. @throws {HttpError} 400 naming `what`. */
export function fallbackOf(v: unknown, what: string): 'none' | 'popularity' {
  if (v !== 'none' && v !== 'popularity') throw badRequest(`${what} must be none or popularity (got ${JSON.stringify(v)?.slice(0, 60)})`);
  return v;
}

/**
 * Read a JSON object body of at most `limit` bytes.
 * @throws {HttpError} 413 `PAYLOAD_TOO_LARGE` over the limit (by Content-Length or as it streams);
 * 400 for a body that is not a JSON object.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = () => new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body is over the limit of ${limit} bytes`);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  if (size === 0) throw badRequest('the request needs a JSON object body');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw badRequest(`the body is not valid JSON (${(e as Error).message.slice(0, 120)})`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Refuse keys of a JSON body other than `allowed`. @throws {HttpError} 400 */
export function checkKeys(body: Record<string, unknown>, allowed: readonly string[], where = 'the body'): void {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw badRequest(`unknown field ${JSON.stringify(key.slice(0, 60))} in ${where} (fields: ${allowed.join(', ')})`);
}

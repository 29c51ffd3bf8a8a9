/**
 * Typed errors. Every failure that reaches a client is an AppError with a code the
 * protocol knows: OCI error codes on /v2, Harbor's codes on /api/v2.0. The http/ layer
 * turns them into the right body; nothing below http/ builds a response.
 */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'RANGE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'PROJECTPOLICYVIOLATION'
  /** Distribution's code for a service that cannot answer now (a proxy cache whose upstream is down). */
  | 'UNAVAILABLE';

export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'CONFLICT'
  | 'PRECONDITION'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INTERNAL_SERVER_ERROR';

export type ErrorCode = OciErrorCode | ApiErrorCode;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail?: unknown;
  /** Extra response headers (e.g. a Range header on 416). */
  readonly headers?: Record<string, string>;
  /** The same refusal as Harbor's API words it, when /api/v2.0 answers it differently from /v2 (same status). */
  readonly onApi?: { code: ApiErrorCode; message: string };

  constructor(
    code: ErrorCode,
    status: number,
    message: string,
    options: { detail?: unknown; headers?: Record<string, string>; onApi?: { code: ApiErrorCode; message: string } } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.detail = options.detail;
    this.headers = options.headers;
    this.onApi = options.onApi;
  }
}

/** OCI codes with the status the distribution spec gives them. */
const ociStatus: Record<OciErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  RANGE_INVALID: 416,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  PROJECTPOLICYVIOLATION: 412,
  UNAVAILABLE: 503,
};

export function ociError(
  code: OciErrorCode,
  message: string,
  options: { status?: number; detail?: unknown; headers?: Record<string, string> } = {},
): AppError {
  return new AppError(code, options.status ?? ociStatus[code], message, options);
}

const apiStatus: Record<ApiErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PRECONDITION: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_SERVER_ERROR: 500,
};

export function apiError(code: ApiErrorCode, message: string): AppError {
  return new AppError(code, apiStatus[code], message);
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/**
 * What is full, when an error is a write refused for want of space: a full disk or quota
 * under the blob store (ENOSPC, EDQUOT), a full SQLite or PostgreSQL disk (SQLITE_FULL,
 * 53100 disk_full), an S3-compatible server out of space (507, MinIO's XMinioStorageFull).
 * Null for any other error.
 */
export function storageFullCause(err: unknown): 'blob storage' | 'database' | null {
  const e = err as { code?: unknown; name?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  if (!e || typeof e !== 'object') return null;
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return 'blob storage';
  if (e.code === 'SQLITE_FULL' || e.code === '53100') return 'database';
  if (e.name === 'XMinioStorageFull' || e.$metadata?.httpStatusCode === 507) return 'blob storage';
  return null;
}

/**
 * PostgreSQL SQLSTATEs of a server that cannot serve now: class 08 (connection), 57P01-57P03
 * (shutting down, starting up), 53300 (too many connections); and of a transaction the server
 * chose to end so that others go on, which succeeds when tried again: 40P01 (deadlock
 * detected), 40001 (serialization failure).
 */
const databaseUnavailableStates = /^(08\d\d\d|57P0[123]|53300|40P01|40001)$/;
/** What a broken or refused database connection gives (pg's own messages, Node's socket codes, SQLite busy). */
const databaseUnavailableMessages =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * What is out of reach, when an error says a backing service cannot answer now but may
 * shortly (the request may be retried as it is): the database (PostgreSQL restarting or
 * unreachable, SQLite busy) or the blob storage (an S3 server answering 5xx, timing out or
 * dropping connections after the SDK's own retries). Null for any other error.
 */
export function unavailableCause(err: unknown): 'blob storage' | 'database' | null {
  const e = err as { code?: unknown; name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  if (!e || typeof e !== 'object') return null;
  // Errors of the AWS SDK carry $metadata: a 5xx answer, a timeout or a broken connection.
  if (e.$metadata !== undefined) {
    const status = e.$metadata.httpStatusCode;
    if (status !== undefined && status >= 500 && status !== 501 && status !== 507) return 'blob storage';
    if (status === undefined && (e.name === 'TimeoutError' || networkCodes.has(String(e.code)))) return 'blob storage';
    return null;
  }
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_BUSY_SNAPSHOT') return 'database';
  if (typeof e.code === 'string' && databaseUnavailableStates.test(e.code)) return 'database';
  if (typeof e.message === 'string' && databaseUnavailableMessages.test(e.message)) return 'database';
  if (e.code === 'ECONNREFUSED') return 'database';
  return null;
}

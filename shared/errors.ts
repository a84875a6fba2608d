/**
 * The few error types a caller can act on.
 *
 * - RetryableError: the same call may succeed later (throttling, 5xx, timeouts, resets, Resource Graph lag).
 *   Queue invocations rethrow it so the host retries the message.
 * - PermanentError: retrying will not help (bad request, validation, not found, conflict). Log it with its
 *   trace id and move on; never retry it forever.
 * - IncompleteReadError: a read was partial (truncated results, lost permission). Reconciliation must not delete
 *   anything on the strength of it.
 */
export type ErrorSource = 'port' | 'resource-graph' | 'queue' | 'input';

export interface ServiceErrorDetails {
  source: ErrorSource;
  status?: number;
  /** Port's `error` code, or Azure's error code. */
  code?: string;
  /** Port's `X-Trace-Id` or Azure's `x-ms-request-id`, for support tickets. */
  traceId?: string;
  /** Method and path, never a full URL with query secrets. */
  operation?: string;
  cause?: unknown;
}

abstract class ServiceError extends Error {
  readonly source: ErrorSource;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly traceId: string | undefined;
  readonly operation: string | undefined;
  abstract readonly retryable: boolean;

  constructor(message: string, details: ServiceErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.source = details.source;
    this.status = details.status;
    this.code = details.code;
    this.traceId = details.traceId;
    this.operation = details.operation;
  }

  /** A log-safe summary: no headers, no bodies beyond Port's own error message. */
  toLogFields(): Record<string, unknown> {
    return {
      error: this.name,
      message: this.message,
      source: this.source,
      status: this.status,
      code: this.code,
      traceId: this.traceId,
      operation: this.operation,
    };
  }
}

export class RetryableError extends ServiceError {
  override readonly name = 'RetryableError';
  readonly retryable = true;
  /** When the service said to come back, if it did. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, details: ServiceErrorDetails & { retryAfterMs?: number }) {
    super(message, details);
    this.retryAfterMs = details.retryAfterMs;
  }
}

export class PermanentError extends ServiceError {
  override readonly name = 'PermanentError';
  readonly retryable = false;
}

export class IncompleteReadError extends ServiceError {
  override readonly name = 'IncompleteReadError';
  readonly retryable = true;
}

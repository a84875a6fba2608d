/**
 * POST /api/resync?mode=full|window (function key in the `x-functions-key` header): starts a reconciliation in the
 * background and answers at once (a full run can take longer than any HTTP timeout). Wiring only: the lock, the
 * rate limit and the request record are in shared/sync/reconcile/host.ts.
 *
 *   202 {runId, mode, status: "accepted"}                      the run has started
 *   409 {status: "already running", runId?, trigger, startedAt} a run holds the lock here or on another instance
 *   429 + Retry-After                                           a request was accepted < RESYNC_MIN_INTERVAL ago (any instance)
 *   400 bad mode · 503 {error, errorId}                         storage or Port unreachable; errorId finds the log line
 *
 * Neither 409 nor 429 makes any Port or Resource Graph call. Error bodies never carry internal messages.
 */
import funcs from '@azure/functions';
import type { HttpRequest, InvocationContext } from '@azure/functions';

// @azure/functions is CommonJS: classes must come from the default export (named imports fail at run time).
const { app, HttpResponse } = funcs;

const MODES = ['full', 'window'] as const;
type Mode = (typeof MODES)[number];

export async function resyncHandler(request: HttpRequest, context: InvocationContext): Promise<InstanceType<typeof HttpResponse>> {
  const raw = request.query.get('mode');
  const mode = (raw === null || raw.trim() === '' ? 'full' : raw.trim().toLowerCase()) as Mode;
  if (!MODES.includes(mode)) {
    return new HttpResponse({
      status: 400,
      jsonBody: { error: `query parameter "mode" must be "full" or "window", got ${JSON.stringify(raw?.slice(0, 40))}` },
    });
  }
  const [{ requestResync }, { invocationLogger }] = await Promise.all([
    import('../shared/sync/reconcile/host.js'),
    import('../shared/log.js'),
  ]);
  const logger = invocationLogger(context);
  try {
    const outcome = await requestResync(mode, logger);
    switch (outcome.status) {
      case 'accepted':
        return new HttpResponse({ status: 202, jsonBody: { runId: outcome.runId, mode: outcome.mode, status: 'accepted' } });
      case 'running': {
        const h = outcome.holder;
        logger.info('resync refused: a run is already in progress', { mode, holder: h });
        return new HttpResponse({
          status: 409,
          jsonBody: {
            error: 'a reconciliation of this scope is already running; it picks up every change, or try again when it has finished',
            status: 'already running',
            ...(h ? { ...(h.runId ? { runId: h.runId } : {}), trigger: h.trigger, startedAt: h.startedAt } : {}),
          },
        });
      }
      case 'rate-limited': {
        const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
        logger.info('resync refused: rate limited', { mode, retryAfterSeconds: seconds });
        return new HttpResponse({
          status: 429,
          headers: { 'Retry-After': String(seconds) },
          jsonBody: { error: 'too many resync requests; try again after Retry-After seconds', retryAfterSeconds: seconds },
        });
      }
    }
  } catch (error) {
    // The invocation id is on every log line of this request: it finds the cause without echoing it to the caller.
    const errorId = context.invocationId;
    logger.error('resync request failed', { mode, errorId, error });
    return new HttpResponse({
      status: 503,
      jsonBody: { error: 'the resync could not be started; try again later', errorId },
    });
  }
}

app.http('resync', { methods: ['POST'], authLevel: 'function', route: 'resync', handler: resyncHandler });

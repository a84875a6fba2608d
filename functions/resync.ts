/**
 * POST /api/resync?mode=full|window: records a resync request and starts the run in the background, answering
 * 202 at once (a full run can take longer than any HTTP timeout). Wiring only: shared/sync/reconcile/host.ts.
 */
import funcs from '@azure/functions';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

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
      jsonBody: { error: `query parameter "mode" must be "full" or "window", got ${JSON.stringify(raw)}` },
    });
  }
  const [{ requestResync }, { invocationLogger }] = await Promise.all([
    import('../shared/sync/reconcile/host.js'),
    import('../shared/log.js'),
  ]);
  const logger = invocationLogger(context);
  try {
    const accepted = await requestResync(mode, logger);
    const body: HttpResponseInit['jsonBody'] = { runId: accepted.runId, mode: accepted.mode, status: 'accepted' };
    return new HttpResponse({ status: 202, jsonBody: body });
  } catch (error) {
    logger.error('resync request could not be recorded', { mode, error });
    return new HttpResponse({
      status: 503,
      jsonBody: { error: 'the resync request could not be recorded in Port; try again', detail: error instanceof Error ? error.message : String(error) },
    });
  }
}

app.http('resync', { methods: ['POST'], authLevel: 'function', route: 'resync', handler: resyncHandler });

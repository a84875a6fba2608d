/**
 * A Logger over an invocation context, so per-message lines carry the invocation id in Application Insights.
 * Fields go through the same sanitising as every other logger (no claims, tokens or authorization).
 */
import type { InvocationContext } from '@azure/functions';
import { createLogger, type Logger, type LogLevel } from '../../log.js';

export function invocationLogger(context: InvocationContext, minLevel: LogLevel = 'info'): Logger {
  return createLogger(
    (level, message, fields) => {
      const line = Object.keys(fields).length > 0 ? `${message} ${JSON.stringify(fields)}` : message;
      if (level === 'error') context.error(line);
      else if (level === 'warn') context.warn(line);
      else if (level === 'debug') context.debug(line);
      else context.info(line);
    },
    minLevel,
    { invocationId: context.invocationId },
  );
}

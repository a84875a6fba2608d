/**
 * Socket-level failures, said so a person can act on them: which host, and whether its name did not resolve,
 * nothing listened, or nothing answered in time. Shared by the Port client and the Resource Graph reader.
 */

/** The socket-level code of a failure, from the error or its causes (got and the Azure SDK nest it differently). */
export function networkErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z_]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    if (e.name === 'TimeoutError') return 'ETIMEDOUT';
  }
  return undefined;
}

/** Undefined for failures that are not about reaching the host. */
export function describeUnreachable(error: unknown, host: string): string | undefined {
  const code = networkErrorCode(error);
  switch (code) {
    case 'ENOTFOUND':
      return `cannot resolve host ${host} (ENOTFOUND): check the URL for typos`;
    case 'EAI_AGAIN':
      return `DNS lookup of ${host} failed temporarily (EAI_AGAIN)`;
    case 'ECONNREFUSED':
      return `${host} refused the connection (ECONNREFUSED): nothing is listening there`;
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
      return `no answer from ${host} in time (timeout)`;
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return `no network route to ${host} (${code})`;
    default:
      return undefined;
  }
}

/**
 * Attempts allowed for a network failure. A name that does not resolve (ENOTFOUND: the DNS server said there is no
 * such host) is a typo far more often than a blip, and temporary resolver failures arrive as EAI_AGAIN instead; but
 * busy Azure workers do see the odd spurious ENOTFOUND, so it gets one more try rather than the full back-off
 * (which would be 40 s of silence before saying "misspelt host").
 */
export function attemptsFor(error: unknown, configured: number): number {
  return networkErrorCode(error) === 'ENOTFOUND' ? Math.min(2, configured) : configured;
}

/** The one source of "now", so tests and jobs agree on time formats. */
export function nowIso(): string {
  return new Date().toISOString();
}

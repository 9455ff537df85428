/** The bool filter both stores query by: exact terms (undefined ones left out) and a half-open time range. */
export function boolFilter(terms: Record<string, string | undefined>, since?: Date, until?: Date): Record<string, unknown> {
  const clauses: Record<string, unknown>[] = Object.entries(terms)
    .filter(([, value]) => value !== undefined)
    .map(([field, value]) => ({ term: { [field]: value } }));
  if (since !== undefined || until !== undefined) {
    clauses.push({
      range: {
        '@timestamp': {
          ...(since ? { gte: since.toISOString() } : {}),
          ...(until ? { lt: until.toISOString() } : {}),
        },
      },
    });
  }
  return { bool: { filter: clauses } };
}

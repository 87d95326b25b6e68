/** Handlebars helpers: small, pure formatting only. */
export const viewHelpers = {
  eq: (a: unknown, b: unknown): boolean => a === b,
  percent: (value: number): string => `${Math.round(value)}%`,
  year: (): number => new Date().getFullYear(),
};

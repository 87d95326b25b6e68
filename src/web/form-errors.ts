/**
 * Refusals shown on the page that was submitted: an error summary at the top (role="alert", each message a
 * link to its field) and the message again beside the field. `field` is the id of the input to link to.
 */
export interface FieldError {
  field: string;
  message: string;
}

/** Messages by field id, for marking inputs `aria-invalid` and describing them by their message. */
export function messagesByField(errors: readonly FieldError[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of errors) if (!out.has(e.field)) out.set(e.field, e.message);
  return out;
}

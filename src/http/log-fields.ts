// Log fields taken from a request are clipped: a uid, name or namespace can
// be as long as the body allows (MiBs), and one denial must stay one short
// line. Kubernetes names are at most 253 characters, so real ones pass whole.
export const MAX_LOGGED_CHARS = 256;

/** The text itself when short enough, else its head and how long it was. */
export function clip(text: string, max = MAX_LOGGED_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

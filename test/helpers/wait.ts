// Polling for a condition in tests: the view, a controller or a server gets
// there asynchronously. Fails with what was awaited when the time is up.
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

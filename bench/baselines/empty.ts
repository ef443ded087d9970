/** Baseline: a handler that does nothing, bundled exactly like the real handlers. */
export const handler = async (): Promise<{ statusCode: number; body: string }> => ({ statusCode: 200, body: '{}' });

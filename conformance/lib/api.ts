/** A minimal client of the service's HTTP API (contract section 4), for the checks that drive the local stack. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
}

export function api(baseUrl: string) {
  const send = async <T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* keep the text */
    }
    return { status: res.status, body: parsed as T, text };
  };
  return {
    send,
    onboard: (body: unknown) => send('POST', '/v1/onboardings', body),
    get: (id: string) => send('GET', `/v1/onboardings/${encodeURIComponent(id)}`),
    verify: (id: string) => send('POST', `/v1/onboardings/${encodeURIComponent(id)}/verify`),
    remove: (id: string) => send('DELETE', `/v1/onboardings/${encodeURIComponent(id)}`),
  };
}

/** Throws with the response when the status is not the expected one. */
export function expectStatus(r: ApiResponse, ...expected: number[]): void {
  if (!expected.includes(r.status))
    throw new Error(`expected HTTP ${expected.join(' or ')}, got ${r.status}: ${r.text.slice(0, 1500)}`);
}

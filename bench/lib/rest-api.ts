/**
 * The set-up calls scenarios make to Halyard's REST API (log in, tenants,
 * users, devices, credentials): a POST of JSON, as `token` when given.
 */
export async function postApi<T>(base: string, route: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${base}/api${route}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST /api${route}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

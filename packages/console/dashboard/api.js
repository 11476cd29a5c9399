// The dashboard's only way to the server: the REST API, with the token from sessionStorage.

const TOKEN_KEY = 'takhin-tiered.token';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An API failure, with the server's `{ error, message }`. */
export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiFailure(response.status, payload.error ?? 'HTTP_' + response.status, payload.message ?? response.statusText);
  return payload;
}

export const api = {
  stats: () => request('GET', '/api/v1/tiered/stats'),
  segments: (query) => request('GET', `/api/v1/tiered/segments?${new URLSearchParams(query)}`),
  plan: () => request('GET', '/api/v1/tiered/plan?limit=200'),
  /** `operation`: archive, restore or evict. */
  operate: (operation, segmentPath) => request('POST', `/api/v1/tiered/${operation}`, { segment_path: segmentPath }),
  cycle: () => request('POST', '/api/v1/tiered/cycle', {}),
};

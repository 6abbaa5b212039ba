// The public /v1 API as the web channel calls it: the channel header, the chosen
// language, the citizen's token, and problem+json answers thrown as ApiError.
//
// Tokens (decision 50): the access token lives in memory only; the refresh token in
// sessionStorage (this tab only, gone when it closes) so a reload keeps the session.
// The strict Content-Security-Policy is what keeps other scripts from reading it.

const REFRESH_KEY = "mintong.refresh";
let accessToken = "";
let language = "zh-CN";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || "";
    this.field = problem.field || "";
    this.problem = problem;
  }
}

export function setLanguage(value) { language = value; }
export function signedIn() { return Boolean(accessToken || sessionStorage.getItem(REFRESH_KEY)); }

export function keepTokens(answer) {
  accessToken = answer.access_token;
  sessionStorage.setItem(REFRESH_KEY, answer.refresh_token);
}

export function forgetTokens() {
  accessToken = "";
  sessionStorage.removeItem(REFRESH_KEY);
}

// One refresh at a time, shared by every call waiting for it. A view that starts two
// calls at once after a reload (the card page) or after the access token expired would
// otherwise send the same refresh token twice, and identity takes a spent refresh token
// coming back as theft: it revokes the session and the citizen is signed out.
let refreshing = null;

function refresh() {
  refreshing ??= exchange().finally(() => { refreshing = null; });
  return refreshing;
}

async function exchange() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) return false;
  try {
    keepTokens(await call("POST", "/v1/auth/refresh", { body: { refresh_token: token }, anonymous: true }));
    return true;
  } catch {
    forgetTokens();
    return false;
  }
}

/** One API call; a 401 with a refresh token left refreshes once and tries again. */
export async function call(method, path, { body, raw, query, headers = {}, anonymous = false, retried = false } = {}) {
  if (!anonymous && !accessToken && !retried && sessionStorage.getItem(REFRESH_KEY)) {
    await refresh();
  }
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const sent = { "X-Mintong-Channel": "web", "Accept-Language": language, ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  // A document as the raw body (its type in headers), not JSON.
  const payload = raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body);
  if (!anonymous && accessToken) sent.Authorization = `Bearer ${accessToken}`;
  const answer = await fetch(url, {
    method, headers: sent, body: payload,
    credentials: "omit", cache: "no-store",
  });
  if (answer.status === 401 && !anonymous && !retried && (await refresh())) {
    return call(method, path, { body, raw, query, headers, anonymous, retried: true });
  }
  const text = await answer.text();
  const data = text ? JSON.parse(text) : {};
  if (!answer.ok) throw new ApiError(answer.status, data);
  return data;
}

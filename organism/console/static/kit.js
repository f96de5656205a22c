// The console's kit: the session's token, calls to the JSON API, DOM built from text only, UTC times
// with ages, tables, forms. Nothing here renders a page; console.js does, with these.
// Everything shown goes through text nodes or setAttribute on fixed names: values from the API
// (hotkeys, reasons, rule names) are never parsed as HTML.

const TOKEN_KEY = 'routing-console-token';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  set: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** The token's claims (subject, role, expiry) as the page shows them; the server checks them again. */
export function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const body = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
    return { subject: String(body.sub ?? '?'), role: String(body.role ?? '?'), exp: Number(body.exp) || null };
  } catch {
    return null;
  }
}

/** The organism's prefix: the page is served at `<prefix>/console`. */
export const BASE = location.pathname.replace(/\/console\/?$/, '');

/** One call to the API: {ok, status, data, error, headers}; never throws, never puts the token in a URL. */
export async function api(method, path, { body, query, auth = true } = {}) {
  const url = new URL(path.startsWith('/') ? path : `${BASE}/${path}`, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  const headers = { Accept: 'application/json' };
  const token = session.token();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                  cache: 'no-store', credentials: 'omit', redirect: 'error' });
  } catch {
    return { ok: false, status: 0, error: { type: 'NoAnswer', message: 'the stack did not answer' } };
  }
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch { data = null; }
  }
  const error = response.ok ? null
    : (data && data.error) || { type: `HTTP ${response.status}`, message: response.statusText || 'no details' };
  if (response.status === 401 && auth) document.dispatchEvent(new CustomEvent('console:unauthorized'));
  return { ok: response.ok, status: response.status, data, error, headers: response.headers };
}

/** An element: attributes (class, on<event>, or plain names) and children (nodes, or text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'value') node.value = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function utc(at) {
  if (at === null || at === undefined) return '-';
  return new Date(at * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function age(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '-';
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export const now = () => Date.now() / 1000;

/** A time in UTC with its age (or the time left when it is ahead). */
export function when(at, missing = 'never') {
  if (at === null || at === undefined) return el('span', { class: 'muted' }, missing);
  const delta = now() - at;
  const relative = delta >= 0 ? `${age(delta)} ago` : `in ${age(-delta)}`;
  return el('time', { datetime: new Date(at * 1000).toISOString() }, utc(at), el('span', { class: 'age' }, ` (${relative})`));
}

export function badge(text, kind) {
  return el('span', { class: `badge ${kind}` }, text);
}

/** Named checks in order, as badges: passed in green, the refusal in red with its reason. */
export function verdicts(list) {
  return el('ul', { class: 'verdicts' }, list.map((v) => el('li', {}, v.passed ? badge(v.filter, 'ok')
    : [badge(v.filter, 'bad'), ` ${v.reason ?? ''}`])));
}

const shownData = new WeakMap();

/** Whether a poll's answer is what `holder` shows already (then nothing is redrawn: no focus or element is lost);
 * remembers it otherwise. A failed answer (not ok) is never "the same": the next good one is drawn. */
export function alreadyShown(holder, result) {
  if (!result.ok) { forgetShown(holder); return false; }
  const seen = JSON.stringify(result.data);
  if (shownData.get(holder) === seen) return true;
  shownData.set(holder, seen);
  return false;
}

/** `holder` shows something else now (more rows appended): its next answer is drawn, whatever it is. */
export function forgetShown(holder) {
  shownData.delete(holder);
}

/** A table with a caption, column headers and rows of cells; a clear line when there are no rows. */
export function table(caption, headers, rows, empty = 'Nothing to show.') {
  const head = el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h))));
  const body = el('tbody', {}, rows.length ? rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c))))
    : el('tr', {}, el('td', { colspan: headers.length, class: 'empty' }, empty)));
  // a region of its own, reachable by keyboard: a wide table scrolls sideways with the arrow keys
  return el('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': caption },
    el('table', {}, el('caption', {}, caption), head, body));
}

export function card(title, ...content) {
  return el('section', { class: 'card' }, el('h2', {}, title), ...content);
}

/** A definition list of [term, value] pairs. */
export function facts(pairs) {
  return el('dl', { class: 'facts' }, pairs.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

/** What went wrong, said plainly (the API's error type and message), never a blank page. */
export function problem(result, what) {
  const { type, message } = result.error || {};
  const hint = result.status === 403 ? ' (this token\'s role may not see it)'
    : result.status === 0 || result.status >= 500 ? ' (the stack may be restarting; it is asked again)' : '';
  return el('p', { class: 'error', role: 'alert' }, `${what}: ${type || 'error'}: ${message || ''}${hint}`);
}

let fieldCount = 0;

/** A labelled input; `attrs` go to the input (name, required, placeholder, pattern, value...). */
export function field(label, attrs = {}, tag = 'input') {
  const id = `f${++fieldCount}`;
  const input = el(tag, { id, ...attrs });
  return { input, node: el('div', { class: 'field' }, el('label', { for: id }, label), input) };
}

/** A labelled select of [value, text] options. */
export function choice(label, name, options) {
  const made = field(label, { name }, 'select');
  made.input.append(...options.map(([value, text]) => el('option', { value }, text)));
  return made;
}

/** Compact JSON for a table cell (before/after values, scores); shown as text. */
export function json(value) {
  if (value === null || value === undefined) return el('span', { class: 'muted' }, '-');
  const text = JSON.stringify(value);
  return el('code', { class: 'json', title: text.length > 120 ? text : null }, text.length > 120 ? `${text.slice(0, 117)}...` : text);
}

// The operator console: the sign-in, the tabs and the four pages (overview, task routing, job
// routing, audit), each drawn from the same JSON routes the CLI uses, with the pasted token.
// Admin controls are drawn only for an admin token; the API refuses any other caller anyway.
import {
  BASE, age, alreadyShown, api, badge, card, choice, claims, el, facts, field, json, now, problem, session, table, utc,
  verdicts, when,
} from './kit.js';
import { alertsView, routeCacheView } from './alerts.js';
import { jobRouting } from './jobs.js';

const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);
const state = { tab: 'overview', timer: null, role: null, shown: 0 };
const isAdmin = () => state.role === 'admin';

function say(text) { $('status').textContent = text; }
const plural = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

// --- the shell: sign in, tabs, polling ----------------------------------------------------------------
function signedOut(message = '') {
  clearTimeout(state.timer);
  state.shown += 1;
  $('login').hidden = false; $('tabs').hidden = true; $('who').hidden = true;
  $('page').replaceChildren(); say('');
  $('login-error').textContent = message;
  $('token').focus();
}

async function signIn(token) {
  const who = claims(token);
  if (!who) return signedOut('That is not a token: paste the whole value printed by make run.');
  session.set(token);
  const check = await api('GET', 'control-plane');
  if (check.status === 401) { session.clear(); return signedOut(`The token was refused: ${check.error.message}.`); }
  state.role = who.role;
  $('identity').replaceChildren(el('span', {}, `${who.subject} `), badge(who.role, who.role === 'admin' ? 'warn' : 'info'),
    who.exp ? el('span', { class: 'age' }, ` expires ${utc(who.exp)}`) : '');
  $('login').hidden = true; $('tabs').hidden = false; $('who').hidden = false;
  $('token').value = '';
  show(state.tab);
}

function show(tab) {
  clearTimeout(state.timer);
  state.tab = tab;
  state.shown += 1;
  say('');
  for (const button of $('tabs').querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(button.dataset.tab === tab));
  }
  const page = el('div', { class: 'page', 'data-page': tab });
  $('page').replaceChildren(page);
  PAGES[tab](page);
}

/** Run `refresh` now and every POLL_MS while its page is still the one shown, one round at a time. */
function poll(refresh) {
  const shown = state.shown;
  const tick = async () => {
    await refresh();
    if (state.shown !== shown) return;  // another page (or none) is shown now
    say(`Updated ${utc(now())}; refreshes every ${POLL_MS / 1000} s.`);
    state.timer = setTimeout(tick, POLL_MS);
  };
  tick();
}

// --- overview -------------------------------------------------------------------------------------
const APPS = [['organism', `${BASE}/health`], ['coordinator', '/pipeline/health'], ['cognitive', '/cognitive/health']];

function healthRows(results) {
  return results.map(([name, result]) => {
    const body = result.data || {};
    const status = result.ok ? badge(body.status || 'ok', 'ok')
      : result.status === 404 ? badge('not deployed', 'muted') : badge(result.error.type, 'bad');
    return [name, status, body.epoch || body.detail || (result.ok ? '' : result.error.message)];
  });
}

function replicaRows(replicas, version) {
  return replicas.map((r) => {
    const late = r.lag_versions > 0 ? badge(`${r.lag_versions} behind for ${age(r.lag_s)}`, 'bad')
      : r.seen_s_ago > 5 ? badge('silent', 'warn') : badge('in step', 'ok');
    return [r.name, r.kind, `${r.applied} of ${version}`, late, `${age(r.seen_s_ago)} ago`];
  });
}

function instanceRows(registry) {
  const sorted = [...registry.instances].sort((a, b) => a.logical_id.localeCompare(b.logical_id)
    || b.last_heartbeat - a.last_heartbeat);
  return sorted.map((i) => [i.logical_id, el('code', {}, i.instance_id), i.status,
    i.active ? badge('active', 'ok') : badge('inactive', 'muted'), `${age(now() - i.last_heartbeat)} ago`,
    i.epoch === registry.epoch ? 'current' : i.epoch, when(i.started_at)]);
}

function organRows(registry) {
  const organs = new Map();
  for (const i of registry.instances) {
    const seen = organs.get(i.logical_id) || { active: 0, all: 0 };
    organs.set(i.logical_id, { active: seen.active + (i.active ? 1 : 0), all: seen.all + 1 });
  }
  return [...organs].sort().map(([organ, n]) => [organ, badge(`${n.active} active`, n.active ? 'ok' : 'bad'), `${n.all}`]);
}

/** The admin's two task-routing actions: clear every replica's instance cache, rotate the epoch. */
function adminActions() {
  const out = el('p', { role: 'status', class: 'done' });
  const act = (path, what) => async () => {
    const result = await api('POST', path);
    out.replaceChildren(result.ok ? `${what}: control-plane version ${result.headers.get('X-Control-Plane-Version')}.`
      : problem(result, `${what} refused`));
  };
  return card('Actions (admin)', el('div', { class: 'pager' },
    el('button', { type: 'button', onclick: act('routing/refresh', 'Caches refreshed') }, 'Refresh the route caches'),
    el('button', { type: 'button', class: 'danger', onclick: act('registry/epoch', 'Epoch rotated') },
      'Rotate the epoch (every organ registers again)')), out);
}

function overview(page) {
  const parts = { health: el('div'), control: el('div'), organs: el('div'), chain: el('div'), cache: el('div'),
                  alerts: el('div') };
  page.append(card('Alerts', parts.alerts),
    el('div', { class: 'grid' }, card('Applications', parts.health), card('Current block', parts.chain),
      card('Route cache', parts.cache)),
    card('Control plane', parts.control), card('Organs and instances', parts.organs), isAdmin() ? adminActions() : '');
  poll(async () => {
    const [health, control, registry, chain, stats, config] = await Promise.all([
      Promise.all(APPS.map(async ([name, path]) => [name, await api('GET', path, { auth: false })])),
      api('GET', 'control-plane'), api('GET', 'registry'), api('GET', 'chain'), api('GET', '/pipeline/stats'),
      api('GET', 'config')]);
    parts.alerts.replaceChildren(...alertsView({ control, chain, config, registry, stats }));
    parts.cache.replaceChildren(...routeCacheView(stats));
    parts.health.replaceChildren(table('Health of each application', ['application', 'status', 'epoch or detail'],
      healthRows(health)));
    parts.control.replaceChildren(...(control.ok ? [
      facts([['version', String(control.data.version)], ['replicas', String(control.data.replicas.length)]]),
      table('Replicas and the control-plane version each has applied',
        ['replica', 'kind', 'applied', 'state', 'last poll'], replicaRows(control.data.replicas, control.data.version),
        'No replica follows the control plane.')] : [problem(control, 'Control plane unavailable')]));
    parts.organs.replaceChildren(...(registry.ok ? [
      facts([['epoch', registry.data.epoch], ['heartbeat timeout', `${registry.data.heartbeat_timeout_s} s`]]),
      table('Organs', ['organ', 'instances', 'registered'], organRows(registry.data), 'No organ has registered.'),
      table('Instances, freshest heartbeat first', ['organ', 'instance', 'status', 'active', 'heartbeat', 'epoch', 'started'],
        instanceRows(registry.data), 'No instance has registered.')] : [problem(registry, 'Registry unavailable')]));
    parts.chain.replaceChildren(chain.ok ? facts([
      ['current block', String(chain.data.current_block)], ['reported block', String(chain.data.reported_block)],
      ['reported', when(chain.data.reported_at)], ['netuid', String(chain.data.netuid)],
      ['cycle', `${chain.data.cycle.start} to ${chain.data.cycle.stop}`]])
      : chain.status === 404 ? el('p', { class: 'muted' }, 'No block has been reported yet (PUT /chain).')
        : problem(chain, 'Chain unavailable'));
  });
}

// --- task routing ---------------------------------------------------------------------------------
function rulesView(view) {
  return [
    table('Rules: the first match wins, a domain rule before a type rule',
      ['task type', 'domain', 'logical id'],
      view.rules.map((r) => [el('code', {}, r.task_type), r.domain ?? el('span', { class: 'muted' }, 'any'), r.logical_id]),
      'No rules: categories and the fallback decide.'),
    table('Categories (a pattern over the type)', ['pattern', 'logical id'],
      view.categories.map((c) => [el('code', {}, c.pattern), c.logical_id]), 'No categories.'),
    facts([['fallback', view.fallback]]),
  ];
}

function explained(result) {
  const r = result.data;
  const why = r.explain || { rule: {}, candidates: [] };
  return [
    facts([['logical id', r.logical_id ?? '-'], ['status', badge(r.status, r.status === 'ok' ? 'ok' : 'warn')],
      ['resolved from', r.resolved_from ?? '-'], ['instance', r.instance_id ?? '-'], ['epoch', r.epoch],
      ['rule matched', `${why.rule.resolved_from}: ${why.rule.matched ?? '(none)'} -> ${why.rule.logical_id}`],
      ['from cache', r.cache_hit ? `yes (${r.cache_age_ms} ms old)` : 'no']]),
    table('Instances considered', ['instance', 'organ', 'chosen', 'heartbeat', 'checks'],
      why.candidates.map((c) => [el('code', {}, c.instance_id), c.logical_id, c.chosen ? badge('chosen', 'ok') : '',
        `${age(c.heartbeat_age_s)} ago`, verdicts(c.verdicts)]), 'No instance of the logical id is registered.'),
  ];
}

function resolveTester() {
  const type = field('Task type', { name: 'type', required: true, placeholder: 'graph_embed' });
  const domain = field('Domain (optional)', { name: 'domain', placeholder: 'facts' });
  const preferred = field('Preferred logical id (optional)', { name: 'preferred' });
  const out = el('div', { class: 'result' });
  const form = el('form', { class: 'inline', onsubmit: async (event) => {
    event.preventDefault();
    const task = { type: type.input.value, domain: domain.input.value || null };
    const result = await api('POST', 'resolve-route', { query: { explain: 'true' },
      body: { task, preferred_logical_id: preferred.input.value || null } });
    out.replaceChildren(...(result.ok ? explained(result) : [problem(result, 'Not resolved')]));
  } }, type.node, domain.node, preferred.node, el('button', { type: 'submit' }, 'Resolve and explain'));
  return card('Resolve tester', form, out);
}

function ruleChange(refreshRules) {
  const op = choice('Change', 'op', [['add', 'add a rule'], ['remove', 'remove a rule']]);
  const type = field('Task type', { name: 'task_type', required: true });
  const domain = field('Domain (optional)', { name: 'domain' });
  const target = field('Logical id (to add)', { name: 'logical_id' });
  const out = el('div', { class: 'result' });
  let previewed = null;
  const apply = el('button', { type: 'button', disabled: true, onclick: async () => {
    const result = await api('PUT', 'routing/rules', { body: previewed });
    apply.disabled = true;
    out.replaceChildren(result.ok ? el('p', { class: 'done', role: 'status' },
      `Applied at control-plane version ${result.headers.get('X-Control-Plane-Version')}; in force on every replica.`)
      : problem(result, 'Not applied'));
    refreshRules();
  } }, 'Apply this change');
  const change = () => {
    const key = { task_type: type.input.value, domain: domain.input.value || null };
    return op.input.value === 'add' ? { add: [{ ...key, logical_id: target.input.value }], remove: [] } : { add: [], remove: [key] };
  };
  const form = el('form', { class: 'inline rule-change', oninput: () => { apply.disabled = true; }, onsubmit: async (event) => {
    event.preventDefault();
    previewed = change();
    const result = await api('PUT', 'routing/rules', { query: { dry_run: 'true' }, body: previewed });
    apply.disabled = !result.ok;
    out.replaceChildren(...(result.ok ? [
      el('p', {}, `Preview: of ${plural(result.data.sampled, 'recently resolved key')} this replica compared,`
        + ` ${result.data.moved.length} would move; the table would hold ${plural(result.data.rules.rules.length, 'rule')}.`),
      table('What the change would move', ['task type', 'domain', 'now', 'after', 'decided by'],
        result.data.moved.map((m) => [m.task_type, m.domain ?? 'any', m.before, m.after, m.resolved_from]),
        'Nothing recently resolved would move.')] : [problem(result, 'Refused')]));
  } }, op.node, type.node, domain.node, target.node, el('button', { type: 'submit' }, 'Preview (dry run)'), apply);
  return card('Change a rule (admin)', el('p', { class: 'muted' }, 'Preview first: the change is applied only as previewed.'),
    form, out);
}

function taskRouting(page) {
  const rules = el('div');
  const refreshRules = async () => {
    const result = await api('GET', 'routing/rules');
    if (alreadyShown(rules, result)) return;
    rules.replaceChildren(...(result.ok ? rulesView(result.data) : [problem(result, 'Rules unavailable')]));
  };
  page.append(card('Rules and categories', rules), resolveTester(), isAdmin() ? ruleChange(refreshRules) : '');
  poll(refreshRules);
}

// --- audit ----------------------------------------------------------------------------------------
const isRecord = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What an entry changed: per key, before -> after (only the keys that differ), or the values whole. */
function change(before, after) {
  if (!isRecord(before) && !isRecord(after)) {
    return before === null || before === undefined ? json(after) : el('span', {}, json(before), ' -> ', json(after));
  }
  const was = isRecord(before) ? before : {};
  const later = isRecord(after) ? after : {};
  const keys = [...new Set([...Object.keys(was), ...Object.keys(later)])]
    .filter((k) => JSON.stringify(was[k]) !== JSON.stringify(later[k]));
  return el('ul', { class: 'plain' }, keys.map((k) => el('li', {}, el('code', {}, k), ': ',
    k in was ? [json(was[k]), ' -> '] : '', k in later ? json(later[k]) : el('span', { class: 'muted' }, '(gone)'))));
}

function audit(page) {
  const action = field('Action or prefix', { name: 'action', placeholder: 'miner.', pattern: '[a-z.]*' });
  const subject = field('Subject', { name: 'subject' });
  const out = el('div');
  const cursors = [null];
  const load = async () => {
    const result = await api('GET', 'audit', { query: { action: action.input.value, subject: subject.input.value,
      limit: 50, cursor: cursors[cursors.length - 1] } });
    if (alreadyShown(out, result)) return;
    if (!result.ok) return out.replaceChildren(problem(result, 'Audit trail unavailable'));
    const older = el('button', { type: 'button', disabled: !result.data.next_cursor,
      onclick: () => { cursors.push(result.data.next_cursor); load(); } }, 'Older');
    const newer = el('button', { type: 'button', disabled: cursors.length < 2, onclick: () => { cursors.pop(); load(); } }, 'Newer');
    out.replaceChildren(table(`Audit trail, newest first (page ${cursors.length})`,
      ['at', 'subject', 'action', 'target', 'what changed (before -> after)'],
      result.data.entries.map((e) => [when(e.at), `${e.subject} (${e.role})`, el('code', {}, e.action),
        e.target === null ? '-' : el('code', {}, e.target), change(e.before, e.after)]), 'No entries match.'),
    el('div', { class: 'pager' }, newer, older));
  };
  page.append(card('Audit trail', el('form', { class: 'inline', onsubmit: (event) => {
    event.preventDefault(); cursors.splice(1); load();
  } }, action.node, subject.node, el('button', { type: 'submit' }, 'Filter')), out));
  poll(async () => { if (cursors.length === 1) await load(); });  // the newest page follows; an older one stays
}

const PAGES = { overview, tasks: taskRouting, jobs: (page) => jobRouting(page, isAdmin(), poll), audit };

document.addEventListener('console:unauthorized', () => {
  session.clear();
  signedOut('The token was refused (expired or invalid): paste a new one.');
});
$('login-form').addEventListener('submit', (event) => { event.preventDefault(); signIn($('token').value.trim()); });
$('forget').addEventListener('click', () => { session.clear(); signedOut('The token is forgotten.'); });
$('tabs').addEventListener('click', (event) => { if (event.target.dataset.tab) show(event.target.dataset.tab); });
if (session.token()) signIn(session.token()); else signedOut();

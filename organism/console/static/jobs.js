// The job-routing page: miners (newest manifests, allowance, collateral, incidents, blacklist), the
// admin's blacklist and lift, jobs (bookings in force by state) and one job's state, history and
// routing reports, looked up by uuid.
import {
  alreadyShown, api, badge, card, choice, el, facts, field, forgetShown, problem, table, verdicts, when,
} from './kit.js';

const STATES = ['', 'reserved', 'running', 'finished', 'failed', 'declined', 'released', 'expired'];

/** Wei with its digits grouped by three (exact: the API may send a decimal string). */
function wei(amount) {
  return String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function scores(values) {
  if (!values) return el('span', { class: 'muted' }, '-');
  return el('ul', { class: 'plain' }, Object.entries(values).map(([name, value]) => el('li', {}, `${name}: `,
    el('code', {}, String(value)))));
}

function manifests(miner) {
  const classes = Object.entries(miner.manifests);
  if (!classes.length) return el('span', { class: 'muted' }, 'none');
  return el('ul', { class: 'plain' }, classes.map(([name, m]) => el('li', {}, el('code', {}, name),
    ` ${m.online_executor_count}/${m.executor_count} online, ${miner.free_slots[name] ?? 0} free, `, when(m.observed_at))));
}

function allowance(row) {
  if (!row) return el('span', { class: 'muted' }, 'no row this cycle');
  const left = row.remaining - row.held;
  return el('span', {}, `${Math.round(left)} of ${Math.round(row.initial)} s left`,
    row.held ? el('span', { class: 'age' }, ` (${Math.round(row.held)} s held)`) : '');
}

function blacklist(entry) {
  if (!entry) return badge('no', 'ok');
  return el('span', {}, badge('blacklisted', 'bad'), ` ${entry.reason || '(no reason)'}; `,
    entry.expires_at === null ? 'permanent' : el('span', {}, 'until ', when(entry.expires_at)));
}

function minersCard(admin) {
  const klass = field('Executor class (optional)', { name: 'executor_class', placeholder: 'always_on.test' });
  const listed = choice('Blacklisted', 'blacklisted', [['', 'any'], ['true', 'yes'], ['false', 'no']]);
  const out = el('div');
  const status = el('p', { role: 'status', class: 'done' });
  const hotkey = field('Hotkey', { name: 'hotkey', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}' });
  const reason = field('Reason', { name: 'reason', maxlength: 500 });
  const duration = field('Duration in seconds (empty: permanent)', { name: 'duration_s', type: 'number', min: 1 });
  let cursor = null;

  const act = async (method, who, body) => {
    const result = await api(method, `miners/${encodeURIComponent(who)}/blacklist`, { body });
    status.replaceChildren(result.ok ? `${method === 'POST' ? 'Blacklisted' : 'Lifted the blacklist of'} ${who}.`
      : problem(result, `Not done for ${who}`));
    load(true);
  };
  const actions = (miner) => (miner.blacklist
    ? el('button', { type: 'button', 'aria-label': `Lift ${miner.hotkey}`, onclick: () => act('DELETE', miner.hotkey) },
      'Lift')
    : el('button', { type: 'button', 'aria-label': `Blacklist ${miner.hotkey}...`,
      onclick: () => { hotkey.input.value = miner.hotkey; reason.input.focus(); } }, 'Blacklist...'));
  const row = (m) => [el('code', {}, m.hotkey), `${m.address}:${m.port}`, wei(m.collateral_wei), manifests(m),
    allowance(m.allowance), `${m.recent_incidents} recent, ${m.incidents.length} in 24 h`, blacklist(m.blacklist),
    ...(admin ? [actions(m)] : [])];
  let more = false;  // "More miners" pressed: the longer list is not refreshed until the first page is asked again
  async function load(first = true) {
    if (first) cursor = null;
    more = !first;
    const result = await api('GET', 'miners', { query: { executor_class: klass.input.value, limit: 50, cursor,
      blacklisted: listed.input.value } });
    if (first && alreadyShown(out, result)) return;
    if (!first) forgetShown(out);  // more pages shown: the first page's next answer is drawn anew
    if (!result.ok) return out.replaceChildren(problem(result, 'Miners unavailable'));
    const rows = result.data.miners.map(row);
    const headers = ['hotkey', 'address', 'collateral (wei)', 'newest manifests', 'allowance', 'incidents', 'blacklist',
      ...(admin ? ['action'] : [])];
    const shown = first ? table('Miners by hotkey', headers, rows, 'No miner is registered.') : out.firstChild;
    if (!first) shown.querySelector('tbody').append(...rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c)))));
    cursor = result.data.next_cursor;
    out.replaceChildren(shown, cursor ? el('button', { type: 'button', onclick: () => load(false) }, 'More miners') : '');
  }
  const filter = el('form', { class: 'inline', onsubmit: (event) => { event.preventDefault(); load(true); } },
    klass.node, listed.node, el('button', { type: 'submit' }, 'Show'));
  const form = admin ? el('form', { class: 'inline', onsubmit: (event) => {
    event.preventDefault();
    act('POST', hotkey.input.value, { reason: reason.input.value,
      duration_s: duration.input.value ? Number(duration.input.value) : null });
  } }, hotkey.node, reason.node, duration.node, el('button', { type: 'submit' }, 'Blacklist')) : '';
  return { refresh: () => (more ? null : load(true)),
    node: card('Miners', filter, out, admin ? el('h3', {}, 'Blacklist a miner (admin)') : '', form, status) };
}

function candidates(report) {
  return table(`Miners judged (${report.judged} of ${report.miners} registered${report.compact
    ? `; compact: ${report.omitted} left out` : ''})`, ['rank', 'hotkey', 'chosen', 'verdicts', 'ranking inputs'],
  report.candidates.map((c) => [c.rank ?? '-', el('code', {}, c.hotkey), c.chosen ? badge('chosen', 'ok') : '',
    verdicts(c.verdicts), scores(c.scores)]), 'No miner was judged.');
}

function reportView(report, index, title = `Pick ${index + 1}: `) {
  const o = report.outcome;
  const outcome = o.refusal ? [badge('refused', 'bad'), ` ${o.refusal.type}: ${o.refusal.message}`]
    : [badge(o.kind, 'ok'), ` ${o.hotkey ?? ''}`, o.slot === null ? '' : ` slot ${o.slot}`];
  const rejected = Object.entries(report.rejected).filter(([, n]) => n).map(([f, n]) => `${f}: ${n}`).join(', ');
  return el('article', { class: 'report' }, el('h4', {}, title, ...outcome),
    facts([['decided', when(report.decided_at)], ['block', String(report.block ?? '-')],
      ['control-plane version', String(report.control_version ?? '-')],
      ['executor class', report.request.executor_class ?? '-'], ['rejected', rejected || 'none']]),
    candidates(report));
}

async function jobView(uuid, out) {
  const [job, reports] = await Promise.all([api('GET', `jobs/${encodeURIComponent(uuid)}`),
    api('GET', `jobs/${encodeURIComponent(uuid)}/report`)]);
  if (!job.ok) return out.replaceChildren(problem(job, `Job ${uuid}`));
  const j = job.data;
  out.replaceChildren(el('h3', {}, 'Job ', el('code', {}, j.job_uuid)),
    facts([['state', badge(j.state, ['reserved', 'running', 'finished'].includes(j.state) ? 'ok' : 'warn')],
      ['miner', j.miner.hotkey], ['owner', j.owner], ['executor class', j.executor_class],
      ['executor seconds', String(j.executor_seconds)], ['routed', when(j.routed_at)],
      ['reservation expires', when(j.reservation_expires_at, 'no reservation')], ['declined by', j.declined_by.join(', ') || 'nobody']]),
    table('History', ['at', 'state', 'miner', 'reason'],
      j.history.map((e) => [when(e.at), e.state, e.hotkey, e.reason ?? '-'])),
    el('h3', {}, 'Routing reports, newest first'),
    ...(reports.ok ? reports.data.reports.map((report, i) => reportView(report, i)) : [problem(reports, 'Routing report unavailable')]));
}

function jobsCard() {
  const state = choice('State', 'state', STATES.map((s) => [s, s || 'any']));
  const uuid = field('Job uuid', { name: 'uuid', required: true, size: 38, pattern: '[0-9a-fA-F\\-]{32,36}' });
  const list = el('div');
  const detail = el('div', { class: 'result' });
  const open = (id) => { uuid.input.value = id; jobView(id, detail); load(); };  // the list as fresh as the job
  async function load() {
    const result = await api('GET', 'jobs', { query: { state: state.input.value, limit: 20 } });
    if (alreadyShown(list, result)) return;
    list.replaceChildren(result.ok ? table('The newest jobs (bookings in force: state reserved or running)',
      ['uuid', 'state', 'miner', 'class', 'owner', 'routed'],
      result.data.jobs.map((j) => [el('button', { type: 'button', class: 'link', onclick: () => open(j.job_uuid) },
        j.job_uuid), j.state, j.miner.hotkey, j.executor_class, j.owner, when(j.routed_at)]), 'No job in this state.')
      : problem(result, 'Jobs unavailable'));
  }
  return { refresh: load, node: card('Jobs',
    el('form', { class: 'inline', onsubmit: (event) => { event.preventDefault(); load(); } }, state.node,
      el('button', { type: 'submit' }, 'List')),
    list,
    el('form', { class: 'inline', onsubmit: (event) => { event.preventDefault(); open(uuid.input.value.trim()); } },
      uuid.node, el('button', { type: 'submit' }, 'Look up')),
    detail) };
}

/** A random (version 4) uuid for a dry run: crypto.randomUUID needs a secure context, this does not. */
function randomUuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function trialCard() {
  const klass = field('Executor class', { name: 'executor_class', required: true, value: 'always_on.test' });
  const seconds = field('Execution time limit (s)', { name: 'execution_time_limit', type: 'number', min: 0, value: '60' });
  const out = el('div', { class: 'result' });
  const form = el('form', { class: 'inline', onsubmit: async (event) => {
    event.preventDefault();
    const body = { uuid: randomUuid(), executor_class: klass.input.value, download_time_limit: 0, upload_time_limit: 0,
      execution_time_limit: Number(seconds.input.value), streaming_start_time_limit: 0, on_trusted_miner: false };
    const result = await api('POST', 'jobs/route', { query: { dry_run: 'true' }, body });
    const report = result.ok ? result.data.explain.report : result.error.details?.explain?.report;
    out.replaceChildren(...(result.ok ? [] : [problem(result, 'The pick would be refused')]),
      report ? reportView(report, 0, 'Would pick: ') : '');
  } }, klass.node, seconds.node, el('button', { type: 'submit' }, 'Try a pick (dry run)'));
  return card('Filter verdicts for an executor class',
    el('p', { class: 'muted' }, 'A dry-run pick: every miner with a manifest of the class judged by each filter, and'
      + ' the ranking, as a job would see them now. Nothing is booked or stored.'), form, out);
}

/** The job-routing page; `poll` refreshes its miners and jobs (every 2 s, redrawn only when they changed). */
export function jobRouting(page, admin, poll) {
  const miners = minersCard(admin);
  const jobs = jobsCard();
  page.append(miners.node, trialCard(), jobs.node);
  poll(() => Promise.all([miners.refresh(), jobs.refresh()]));
}

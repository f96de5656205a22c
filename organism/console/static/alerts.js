// The overview's route cache and alerts. Which of the Prometheus rules (k8s/monitoring/prometheus-rules.yaml)
// would fire now, judged from what the page reads, by the rules' thresholds: the coordinator replica that
// answered GET /pipeline/stats names its own three (latency, error rate, cache misses over its last routes);
// the page adds a replica behind the control plane for more than 5 s, a block report older than
// DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS, and an epoch that changed while the page watched (for five minutes).
import { age, badge, el, facts, now, problem, table } from './kit.js';

const LAG_S = 5;
const EPOCH_NOTICE_S = 300;
const watched = { epoch: null, rotatedAt: null };
const percent = (ratio) => (ratio === null ? '-' : `${(ratio * 100).toFixed(1)} %`);

/** The alerts the organism's own facts would fire: [{name, severity, summary}]. */
function organismAlerts({ control, chain, config, registry }) {
  const alerts = [];
  for (const r of control.ok ? control.data.replicas : []) {
    if (r.lag_versions > 0 && r.lag_s > LAG_S) {
      alerts.push({ name: 'RoutingReplicaLagging', severity: 'warning',
                    summary: `${r.name} is ${r.lag_versions} versions behind for ${age(r.lag_s)}` });
    }
  }
  const limit = config.ok ? config.data.DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS : 0;
  if (chain.ok && limit && now() - chain.data.reported_at > limit) {
    alerts.push({ name: 'RoutingBlockReportStale', severity: 'critical',
                  summary: `the block was reported ${age(now() - chain.data.reported_at)} ago (limit ${limit} s): picks are refused` });
  }
  if (registry.ok) {
    if (watched.epoch !== null && watched.epoch !== registry.data.epoch) watched.rotatedAt = now();
    watched.epoch = registry.data.epoch;
    if (watched.rotatedAt !== null && now() - watched.rotatedAt < EPOCH_NOTICE_S) {
      alerts.push({ name: 'RoutingEpochRotated', severity: 'info',
                    summary: `the epoch changed ${age(now() - watched.rotatedAt)} ago: organs re-register, caches were cleared` });
    }
  }
  return alerts;
}

const SEVERITY = { critical: 'bad', warning: 'warn', info: 'info' };

/** The alerts card's content: each alert that would fire, or a plain "none"; what could not be judged, said. */
export function alertsView(sources) {
  const alerts = [...(sources.stats.ok ? sources.stats.data.alerts : []), ...organismAlerts(sources)];
  const unjudged = [['coordinator', sources.stats], ['picker (job routing)', sources.config]]
    .filter(([, result]) => !result.ok).map(([name, result]) => problem(result, `Not judged: the ${name} did not answer`));
  return [table('Alerts that would be firing now', ['alert', 'severity', 'why'],
    alerts.map((a) => [el('code', {}, a.name), badge(a.severity, SEVERITY[a.severity] || 'info'), a.summary]),
    'None would fire.'), ...unjudged];
}

/** The route cache of the coordinator replica that answered: hit ratio, remote calls, p95, breaker. */
export function routeCacheView(stats) {
  if (!stats.ok) return [problem(stats, 'Coordinator unavailable')];
  const s = stats.data;
  const breaker = badge(s.breaker, s.breaker === 'closed' ? 'ok' : s.breaker === 'open' ? 'bad' : 'warn');
  return [facts([
    ['cache hit rate', `${percent(s.cache_hit_ratio)} of the last ${s.answers} routes`],
    ['cached routes', String(s.cache_entries)],
    ['remote calls', `${s.remote_calls}, ${s.remote_failures} failed`],
    ['remote p95', s.remote_p95_ms === null ? '-' : `${s.remote_p95_ms.toFixed(1)} ms`],
    ['breaker', breaker],
    ['replica', el('code', {}, s.replica)]]),
    el('p', { class: 'muted' }, `One coordinator replica's last ${s.window} routes (each replica keeps its own).`)];
}

/** Fleet overview: devices per status, versions in the field, deployments and their progress. */
import { api } from '../api.js';
import { BarChart, ProgressBar } from '../components/charts.js';
import { ErrorNote, Loading, Status } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import { Link } from '../router.js';

export function OverviewPage() {
  const overview = useLoad(() => api.overview(), [], 10_000);
  const deployments = useLoad(() => api.deployments(), [], 10_000);
  const o = overview.data;
  const active = (deployments.data ?? []).filter(
    (d) => d.status === 'running' || d.status === 'paused',
  );
  return (
    <section>
      <h1>Fleet overview</h1>
      <ErrorNote error={overview.error} />
      {o === undefined ? (
        overview.error === undefined && <Loading what="the overview" />
      ) : (
        <>
          <div class="grid cards">
            {Object.entries(o.devices).map(([status, n]) => (
              <article key={status} class="stat">
                <Link to={`/devices?status=${encodeURIComponent(status)}`}>
                  <span class="stat-value">{n}</span> <span>{status} devices</span>
                </Link>
              </article>
            ))}
          </div>
          <div class="grid">
            <BarChart
              title="Versions in the field"
              data={[...o.versions]
                .sort((a, b) => b.devices - a.devices)
                .map((v) => ({ label: v.targetPath, value: v.devices }))}
            />
            <BarChart
              title="Deployments by status"
              unit="deployments"
              data={Object.entries(o.deployments).map(([label, value]) => ({ label, value }))}
            />
          </div>
        </>
      )}
      <h2>Deployments in progress</h2>
      <ErrorNote error={deployments.error} />
      {active.length === 0 ? (
        <p class="muted">No deployment is running or paused.</p>
      ) : (
        active.map((d) => (
          <article key={d.id}>
            <header>
              <Link to={`/deployments/${encodeURIComponent(d.id)}`}>{d.release}</Link> to group{' '}
              <strong>{d.group}</strong> — <Status value={d.status} />, phase {d.phase + 1}
            </header>
            <ProgressBar summary={d.summary} label={`Deployment ${d.id}`} />
          </article>
        ))
      )}
    </section>
  );
}

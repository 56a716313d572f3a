/**
 * One deployment, watched live: `GET /deployments/<id>` polled every 2 s, its progress announced
 * through an `aria-live` region, and the operator actions (pause, resume, abort, retry failed).
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ProgressBar, STATE_LABELS } from '../components/charts.js';
import { ErrorNote, Fields, Loading, Status, Time } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { Link } from '../router.js';
import {
  type DeploymentDetail,
  type PhaseSize,
  ROLLOUT_STATES,
  type RolloutDeviceState,
} from '../types.js';

/** How often the page asks for the deployment's state. */
export const POLL_MS = 2_000;

function phaseText(size: PhaseSize): string {
  return 'devices' in size ? `${size.devices} devices` : `${size.percent}% of the group`;
}

function incompatibleList(detail: DeploymentDetail): { deviceId: string; reason: string }[] {
  const value = detail.incompatible ?? detail.deployment.incompatible ?? {};
  if (Array.isArray(value)) return value;
  return Object.entries(value).map(([deviceId, reason]) => ({ deviceId, reason }));
}

/** One sentence of the state, for the live region (announced when it changes). */
function liveText(detail: DeploymentDetail): string {
  const d = detail.deployment;
  const counts = ROLLOUT_STATES.filter((s) => (detail.summary[s] ?? 0) > 0)
    .map((s) => `${detail.summary[s]} ${STATE_LABELS[s]}`)
    .join(', ');
  const phase = d.phase < 0 ? 'not started' : `phase ${d.phase + 1} of ${d.policy.phases.length}`;
  const reason = d.statusReason === undefined ? '' : ` (${d.statusReason})`;
  return `Deployment ${d.status}${reason}, ${phase}${counts === '' ? '' : `: ${counts}`}.`;
}

export function DeploymentPage({ deploymentId }: { deploymentId: string }) {
  const detail = useLoad(() => api.deployment(deploymentId), [deploymentId], POLL_MS);
  const action = useAction();
  const [reason, setReason] = useState('');
  const data = detail.data;
  const act = (what: 'pause' | 'resume' | 'abort' | 'retry') => async () => {
    const withReason = what === 'pause' || what === 'abort';
    const why = reason.trim() === '' ? `${what} from the dashboard` : reason.trim();
    if (
      await action.run(() => api.deploymentAction(deploymentId, what, withReason ? why : undefined))
    ) {
      setReason('');
      await detail.reload();
    }
  };

  return (
    <section>
      <p>
        <Link to="/deployments">← Deployments</Link>
      </p>
      <h1>Deployment {deploymentId}</h1>
      <ErrorNote error={detail.error} />
      {data === undefined ? (
        detail.error === undefined && <Loading what="the deployment" />
      ) : (
        <DeploymentView
          data={data}
          reason={reason}
          setReason={setReason}
          act={act}
          busy={action.busy}
        />
      )}
      <ErrorNote error={action.error} />
    </section>
  );
}

function DeploymentView({
  data,
  reason,
  setReason,
  act,
  busy,
}: {
  data: DeploymentDetail;
  reason: string;
  setReason: (value: string) => void;
  act: (what: 'pause' | 'resume' | 'abort' | 'retry') => () => Promise<void>;
  busy: boolean;
}) {
  const d = data.deployment;
  const finished = d.status === 'aborted' || d.status === 'completed';
  const phases = d.policy.phases.map((size, index) => {
    const counts: Partial<Record<RolloutDeviceState, number>> = {};
    for (const device of Object.values(d.devices)) {
      if (device.phase === index) counts[device.state] = (counts[device.state] ?? 0) + 1;
    }
    return { size, index, counts };
  });
  const incompatible = incompatibleList(data);
  return (
    <>
      <p class="live" aria-live="polite" aria-atomic="true" data-testid="deployment-live">
        {liveText(data)}
      </p>
      <Fields
        rows={[
          ['Status', <Status key="s" value={d.status} />],
          ['Why', d.statusReason],
          ['Release', d.release],
          [
            'Group',
            <Link key="g" to={`/groups?name=${encodeURIComponent(d.group)}`}>
              {d.group}
            </Link>,
          ],
          ['Phases', d.policy.phases.map(phaseText).join(' → ')],
          ['Soak time', `${d.policy.soakSeconds} s`],
          ['Failure threshold', `${Math.round(d.policy.maxFailureRate * 1000) / 10}% per phase`],
          ['Devices updating at once', String(d.policy.maxConcurrent)],
          ['Update control', d.policy.updateControl],
          ['Created', <Time key="c" at={d.createdAt} />],
        ]}
      />
      <ProgressBar summary={data.summary} label="All devices" />
      {!finished && (
        <fieldset aria-label="Deployment actions" class="actions">
          <label>
            Reason (for pause and abort)
            <input name="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          {d.status === 'running' && (
            <button type="button" class="secondary" onClick={act('pause')} disabled={busy}>
              Pause
            </button>
          )}
          {d.status === 'paused' && (
            <button type="button" onClick={act('resume')} disabled={busy}>
              Resume
            </button>
          )}
          <button
            type="button"
            class="secondary"
            onClick={act('retry')}
            disabled={busy || data.failures.length === 0}
          >
            Retry failed devices
          </button>
          <button type="button" class="contrast" onClick={act('abort')} disabled={busy}>
            Abort
          </button>
        </fieldset>
      )}
      <h2>Phases</h2>
      <div class="overflow-auto">
        <table>
          <thead>
            <tr>
              <th scope="col">Phase</th>
              <th scope="col">Size</th>
              <th scope="col">Progress</th>
            </tr>
          </thead>
          <tbody>
            {phases.map((p) => (
              <tr key={p.index} aria-current={p.index === d.phase ? 'step' : undefined}>
                <th scope="row">
                  {p.index === 0 ? 'canary' : `phase ${p.index + 1}`}
                  {p.index === d.phase ? ' (current)' : ''}
                </th>
                <td>{phaseText(p.size)}</td>
                <td class="progress-cell">
                  <ProgressBar summary={p.counts} label={`Phase ${p.index + 1}`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Failures</h2>
      {data.failures.length === 0 ? (
        <p class="muted">No device failed.</p>
      ) : (
        <div class="overflow-auto">
          <table class="striped" aria-label="Failed devices">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">State</th>
                <th scope="col">Reason</th>
                <th scope="col">Logs</th>
              </tr>
            </thead>
            <tbody>
              {data.failures.map((f) => (
                <tr key={f.deviceId}>
                  <th scope="row">
                    <Link to={`/devices/${encodeURIComponent(f.deviceId)}`}>{f.deviceId}</Link>
                  </th>
                  <td>
                    <Status value={STATE_LABELS[f.state] ?? f.state} />
                  </td>
                  <td>{f.reason ?? '—'}</td>
                  <td>
                    <Link
                      to={`/devices/${encodeURIComponent(f.deviceId)}?correlationId=${encodeURIComponent(d.id)}`}
                    >
                      logs of {f.deviceId}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Incompatible devices</h2>
      {incompatible.length === 0 ? (
        <p class="muted">Every device of the group can take this release.</p>
      ) : (
        <table aria-label="Incompatible devices">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Why not</th>
            </tr>
          </thead>
          <tbody>
            {incompatible.map((x) => (
              <tr key={x.deviceId}>
                <th scope="row">
                  <Link to={`/devices/${encodeURIComponent(x.deviceId)}`}>{x.deviceId}</Link>
                </th>
                <td>{x.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Timeline</h2>
      <ol class="timeline">
        {(d.timeline ?? []).map((t, i) => (
          <li key={`${t.at}-${i}`}>
            <Time at={t.at} /> — {t.event}
          </li>
        ))}
      </ol>
    </>
  );
}

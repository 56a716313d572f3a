/** Deployments: the list, and the form that creates a phased deployment (`POST /deployments`). */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ProgressBar } from '../components/charts.js';
import { ErrorNote, Loading, Status } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { Link, navigate } from '../router.js';
import type { MaintenanceWindow, PhaseSize, RolloutPolicy } from '../types.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** "5, 25%, 100%" → canary of 5 devices, then 25 % of the group, then the rest. */
export function parsePhases(text: string): PhaseSize[] {
  const phases: PhaseSize[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(part);
    if (percent !== null) {
      phases.push({ percent: Number(percent[1]) });
    } else if (/^\d+$/.test(part)) {
      phases.push({ devices: Number(part) });
    } else {
      throw new Error(`Phase "${part}" is neither a device count (5) nor a percentage (25%).`);
    }
  }
  if (phases.length === 0) throw new Error('List at least one phase, e.g. "5, 25%, 100%".');
  return phases;
}

function CreateDeployment() {
  const releases = useLoad(() => api.releases(), []);
  const groups = useLoad(() => api.groups(), []);
  const [release, setRelease] = useState('');
  const [group, setGroup] = useState('');
  const [phases, setPhases] = useState('1, 25%, 100%');
  const [soak, setSoak] = useState('300');
  const [failure, setFailure] = useState('10');
  const [concurrent, setConcurrent] = useState('10');
  const [control, setControl] = useState<'forced' | 'consent'>('forced');
  const [windowOn, setWindowOn] = useState(false);
  const [days, setDays] = useState<string[]>(['sat', 'sun']);
  const [start, setStart] = useState('01:00');
  const [end, setEnd] = useState('05:00');
  const [offset, setOffset] = useState('0');
  const action = useAction();

  return (
    <details>
      <summary class="button-summary">New deployment</summary>
      <form
        aria-label="New deployment"
        onSubmit={async (event) => {
          event.preventDefault();
          let created: { id: string } | undefined;
          const ok = await action.run(async () => {
            const windows: MaintenanceWindow[] = windowOn
              ? [{ days, start, end, utcOffsetMinutes: Number(offset) }]
              : [];
            const policy: RolloutPolicy = {
              phases: parsePhases(phases),
              soakSeconds: Number(soak),
              maxFailureRate: Number(failure) / 100,
              maxConcurrent: Number(concurrent),
              updateControl: control,
              ...(windows.length > 0 ? { maintenanceWindows: windows } : {}),
            };
            created = await api.createDeployment({ release, group, policy });
          });
          if (ok && created !== undefined)
            navigate(`/deployments/${encodeURIComponent(created.id)}`);
        }}
      >
        <ErrorNote error={releases.error ?? groups.error} />
        <div class="grid">
          <label>
            Release
            <select
              name="release"
              required
              value={release}
              onChange={(e) => setRelease(e.currentTarget.value)}
            >
              <option value="">choose a release</option>
              {(releases.data ?? []).map((r) => (
                <option key={r.targetPath} value={r.targetPath}>
                  {r.targetPath}
                  {r.version === undefined ? '' : ` (${r.version})`} — {r.hardwareIds.join(', ')}
                </option>
              ))}
            </select>
          </label>
          <label>
            Group
            <select
              name="group"
              required
              value={group}
              onChange={(e) => setGroup(e.currentTarget.value)}
            >
              <option value="">choose a group</option>
              {(groups.data ?? []).map((g) => (
                <option key={g.name} value={g.name}>
                  {g.name} ({g.members ?? '?'} devices)
                </option>
              ))}
            </select>
          </label>
        </div>
        <label>
          Phases
          <input
            name="phases"
            required
            aria-describedby="phases-help"
            value={phases}
            onInput={(e) => setPhases(e.currentTarget.value)}
          />
          <small id="phases-help">
            Comma-separated: a device count or a percentage of the group each; the first is the
            canary, the last takes every remaining device.
          </small>
        </label>
        <div class="grid">
          <label>
            Soak time between phases (seconds)
            <input
              name="soakSeconds"
              type="number"
              min="0"
              required
              value={soak}
              onInput={(e) => setSoak(e.currentTarget.value)}
            />
          </label>
          <label>
            Pause when a phase's failures exceed (%)
            <input
              name="maxFailureRate"
              type="number"
              min="0"
              max="100"
              step="any"
              required
              value={failure}
              onInput={(e) => setFailure(e.currentTarget.value)}
            />
          </label>
          <label>
            Devices updating at once
            <input
              name="maxConcurrent"
              type="number"
              min="1"
              required
              value={concurrent}
              onInput={(e) => setConcurrent(e.currentTarget.value)}
            />
          </label>
        </div>
        <fieldset>
          <legend>Update control</legend>
          <label>
            <input
              type="radio"
              name="updateControl"
              value="forced"
              checked={control === 'forced'}
              onChange={() => setControl('forced')}
            />
            Forced: devices install
          </label>
          <label>
            <input
              type="radio"
              name="updateControl"
              value="consent"
              checked={control === 'consent'}
              onChange={() => setControl('consent')}
            />
            Consent: each device asks its integrator first
          </label>
        </fieldset>
        <fieldset>
          <legend>Maintenance window</legend>
          <label>
            <input
              type="checkbox"
              role="switch"
              aria-checked={windowOn}
              name="windowOn"
              checked={windowOn}
              onChange={(e) => setWindowOn(e.currentTarget.checked)}
            />
            Only start updates within a weekly window
          </label>
          {windowOn && (
            <>
              <fieldset class="days">
                <legend>Days</legend>
                {DAYS.map((day) => (
                  <label key={day}>
                    <input
                      type="checkbox"
                      name={`day-${day}`}
                      checked={days.includes(day)}
                      onChange={(e) =>
                        setDays(
                          e.currentTarget.checked ? [...days, day] : days.filter((x) => x !== day),
                        )
                      }
                    />
                    {day}
                  </label>
                ))}
              </fieldset>
              <div class="grid">
                <label>
                  Start (HH:MM)
                  <input
                    type="time"
                    value={start}
                    onInput={(e) => setStart(e.currentTarget.value)}
                  />
                </label>
                <label>
                  End (HH:MM)
                  <input type="time" value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
                </label>
                <label>
                  UTC offset (minutes)
                  <input
                    type="number"
                    min="-840"
                    max="840"
                    value={offset}
                    onInput={(e) => setOffset(e.currentTarget.value)}
                  />
                </label>
              </div>
            </>
          )}
        </fieldset>
        <ErrorNote error={action.error} />
        <button type="submit" aria-busy={action.busy} disabled={action.busy}>
          Start deployment
        </button>
      </form>
    </details>
  );
}

export function DeploymentsPage() {
  const list = useLoad(() => api.deployments(), [], 5_000);
  return (
    <section>
      <h1>Deployments</h1>
      <CreateDeployment />
      <ErrorNote error={list.error} />
      {list.data === undefined ? (
        list.error === undefined && <Loading what="deployments" />
      ) : list.data.length === 0 ? (
        <p class="muted">No deployments yet.</p>
      ) : (
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th scope="col">Deployment</th>
                <th scope="col">Release</th>
                <th scope="col">Group</th>
                <th scope="col">Status</th>
                <th scope="col">Phase</th>
                <th scope="col">Progress</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((d) => (
                <tr key={d.id}>
                  <th scope="row">
                    <Link to={`/deployments/${encodeURIComponent(d.id)}`}>{d.id}</Link>
                  </th>
                  <td>{d.release}</td>
                  <td>{d.group}</td>
                  <td>
                    <Status value={d.status} />
                  </td>
                  <td>{d.phase + 1}</td>
                  <td class="progress-cell">
                    <ProgressBar summary={d.summary} label={`Deployment ${d.id}`} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** One device: identity, ECUs and installed images, groups, history and deployment logs. */
import { api } from '../api.js';
import { bytes, ErrorNote, Fields, Loading, Status, Time } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { Link, navigate } from '../router.js';

function eventText(data: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of ['phase', 'result', 'status', 'target', 'installedVersion']) {
    const value = data[key];
    if (typeof value === 'string') parts.push(`${key} ${value}`);
    else if (value !== undefined && typeof value === 'object' && value !== null) {
      const path =
        (value as { path?: unknown; targetPath?: unknown }).path ??
        (value as { targetPath?: unknown }).targetPath;
      if (typeof path === 'string') parts.push(`${key} ${path}`);
    }
  }
  const error = data.error as { code?: unknown; message?: unknown } | undefined;
  if (error !== undefined && typeof error === 'object' && error !== null) {
    parts.push(`error ${String(error.code ?? '')}: ${String(error.message ?? '')}`);
  }
  if (typeof data.message === 'string') parts.push(data.message);
  return parts.length > 0 ? parts.join(' · ') : JSON.stringify(data);
}

export function DevicePage({
  deviceId,
  correlationId,
}: {
  deviceId: string;
  correlationId: string | undefined;
}) {
  const device = useLoad(() => api.device(deviceId), [deviceId]);
  const events = useLoad(() => api.events(deviceId, correlationId), [deviceId, correlationId]);
  const logs = useLoad(() => api.logs(deviceId, correlationId), [deviceId, correlationId]);
  const action = useAction();
  const d = device.data;
  const act = (what: 'accept' | 'reject' | 'decommission') => async () => {
    if (await action.run(() => api.deviceAction(deviceId, what))) await device.reload();
  };
  return (
    <section>
      <p>
        <Link to="/devices">← Inventory</Link>
      </p>
      <h1>Device {deviceId}</h1>
      <ErrorNote error={device.error} />
      {d === undefined ? (
        device.error === undefined && <Loading what="the device" />
      ) : (
        <>
          <Fields
            rows={[
              ['Status', <Status key="s" value={d.status} />],
              ['Model', d.model],
              ['Hardware revision', d.hardwareRevision],
              ['Provisioning', d.provisioning],
              ['Addresses', (d.addresses ?? []).join(', ') || undefined],
              [
                'Attributes',
                Object.entries(d.attributes ?? {})
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ') || undefined,
              ],
              [
                'Groups',
                (d.groups ?? []).length === 0
                  ? undefined
                  : (d.groups ?? []).map((g, i) => (
                      <span key={g}>
                        {i > 0 && ', '}
                        <Link to={`/groups?name=${encodeURIComponent(g)}`}>{g}</Link>
                      </span>
                    )),
              ],
              ['First seen', <Time key="f" at={d.firstSeen} />],
              ['Last seen', <Time key="l" at={d.lastSeen} />],
            ]}
          />
          <fieldset aria-label="Device actions" class="actions">
            {d.status === 'pending' && (
              <button type="button" onClick={act('accept')} disabled={action.busy}>
                Accept
              </button>
            )}
            {d.status === 'pending' && (
              <button
                type="button"
                class="secondary"
                onClick={act('reject')}
                disabled={action.busy}
              >
                Reject
              </button>
            )}
            {d.status !== 'decommissioned' && (
              <button
                type="button"
                class="contrast outline"
                onClick={act('decommission')}
                disabled={action.busy}
              >
                Decommission
              </button>
            )}
          </fieldset>
          <ErrorNote error={action.error} />
          <h2>ECUs</h2>
          {(d.ecus ?? []).length === 0 && <p class="muted">No ECUs reported yet.</p>}
          <div class="overflow-auto" hidden={(d.ecus ?? []).length === 0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">ECU serial</th>
                  <th scope="col">Hardware id</th>
                  <th scope="col">Primary</th>
                  <th scope="col">Installed</th>
                  <th scope="col">Size</th>
                  <th scope="col">Assigned</th>
                </tr>
              </thead>
              <tbody>
                {(d.ecus ?? []).map((e) => (
                  <tr key={e.ecuSerial}>
                    <th scope="row">{e.ecuSerial}</th>
                    <td>{e.hardwareId}</td>
                    <td>{e.primary ? 'yes' : 'no'}</td>
                    <td>{e.installedTarget ?? '—'}</td>
                    <td>{e.installedLength === undefined ? '—' : bytes(e.installedLength)}</td>
                    <td>
                      {e.assignedTarget ?? '—'}
                      {e.correlationId !== undefined && (
                        <>
                          {' '}
                          (
                          <Link to={`/deployments/${encodeURIComponent(e.correlationId)}`}>
                            {e.correlationId}
                          </Link>
                          )
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <h2>History{correlationId === undefined ? '' : ` of update ${correlationId}`}</h2>
      {correlationId !== undefined && (
        <p>
          <button
            type="button"
            class="secondary outline"
            onClick={() => navigate(`/devices/${encodeURIComponent(deviceId)}`)}
          >
            Show every update
          </button>
        </p>
      )}
      <ErrorNote error={events.error} />
      {events.data !== undefined &&
        (events.data.items.length === 0 ? (
          <p class="muted">No events.</p>
        ) : (
          <div class="overflow-auto">
            <table class="striped">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Update</th>
                  <th scope="col">What</th>
                </tr>
              </thead>
              <tbody>
                {events.data.items.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <Time at={e.at} />
                    </td>
                    <td>{e.kind}</td>
                    <td>{e.correlationId ?? '—'}</td>
                    <td>{eventText(e.data)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <h2 id="logs">Logs{correlationId === undefined ? '' : ` of update ${correlationId}`}</h2>
      <ErrorNote error={logs.error} />
      {logs.data !== undefined &&
        (logs.data.items.length === 0 ? (
          <p class="muted">No logs uploaded.</p>
        ) : (
          logs.data.items.map((chunk) => (
            <details key={chunk.id} open={logs.data?.items.length === 1}>
              <summary>
                <Time at={chunk.at} /> — update {chunk.correlationId}, {chunk.lines.length} lines
              </summary>
              <pre class="log">{chunk.lines.join('\n')}</pre>
            </details>
          ))
        ))}
    </section>
  );
}

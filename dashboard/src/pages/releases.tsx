/** Releases: the image repository's targets and where each runs (`GET /releases`). */
import { api } from '../api.js';
import { bytes, ErrorNote, Loading } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import { Link } from '../router.js';

export function ReleasesPage() {
  const releases = useLoad(() => api.releases(), []);
  return (
    <section>
      <h1>Releases</h1>
      <ErrorNote error={releases.error} />
      {releases.data === undefined ? (
        releases.error === undefined && <Loading what="releases" />
      ) : releases.data.length === 0 ? (
        <p class="muted">The image repository has no targets yet.</p>
      ) : (
        <div class="overflow-auto">
          <table class="striped">
            <thead>
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Version</th>
                <th scope="col">Hardware ids</th>
                <th scope="col">Release counter</th>
                <th scope="col">Size</th>
                <th scope="col">Runs on</th>
              </tr>
            </thead>
            <tbody>
              {releases.data.map((r) => {
                const count = Array.isArray(r.installedOn) ? r.installedOn.length : r.installedOn;
                return (
                  <tr key={r.targetPath}>
                    <th scope="row">{r.targetPath}</th>
                    <td>{r.version ?? '—'}</td>
                    <td>{r.hardwareIds.join(', ')}</td>
                    <td>{r.releaseCounter ?? '—'}</td>
                    <td>{bytes(r.length)}</td>
                    <td>
                      {count === 0 ? (
                        'no device'
                      ) : (
                        <Link to={`/devices?installed=${encodeURIComponent(r.targetPath)}`}>
                          {count} device{count === 1 ? '' : 's'}
                        </Link>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

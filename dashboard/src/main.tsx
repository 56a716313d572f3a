/**
 * The tufota operator dashboard (issue 15): a single-page app over the fleet server's admin API.
 * Every page reads and writes through `api.ts` only, so the server's RBAC and audit log apply to
 * the dashboard exactly as to any API client.
 */
import '@picocss/pico/css/pico.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, logOut, onSessionEnd } from './api.js';
import { AuditPage } from './pages/audit.js';
import { DeploymentPage } from './pages/deployment.js';
import { DeploymentsPage } from './pages/deployments.js';
import { DevicePage } from './pages/device.js';
import { GroupsPage } from './pages/groups.js';
import { InventoryPage } from './pages/inventory.js';
import { LoginPage } from './pages/login.js';
import { OverviewPage } from './pages/overview.js';
import { PeoplePage } from './pages/people.js';
import { ReleasesPage } from './pages/releases.js';
import { Link, navigate, useRoute } from './router.js';

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/devices', 'Inventory'],
  ['/deployments', 'Deployments'],
  ['/releases', 'Releases'],
  ['/groups', 'Groups'],
  ['/audit', 'Audit log'],
  ['/people', 'Users & tokens'],
];

function Page({ path, search }: { path: string; search: URLSearchParams }) {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
      return <OverviewPage />;
    case 'devices':
      return parts[1] === undefined ? (
        <InventoryPage search={search} />
      ) : (
        <DevicePage deviceId={parts[1]} correlationId={search.get('correlationId') ?? undefined} />
      );
    case 'deployments':
      return parts[1] === undefined ? (
        <DeploymentsPage />
      ) : (
        <DeploymentPage deploymentId={parts[1]} />
      );
    case 'releases':
      return <ReleasesPage />;
    case 'groups':
      return <GroupsPage />;
    case 'audit':
      return <AuditPage />;
    case 'people':
      return <PeoplePage />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page at <code>{path}</code>. <Link to="/">Back to the overview</Link>.
          </p>
        </section>
      );
  }
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState(currentSession());
  useEffect(() => onSessionEnd(() => setSession(undefined)), []);

  // The page title names the page, so a screen reader user hears where a navigation led.
  const current = NAV.find(([to]) => (to === '/' ? route.path === '/' : route.path.startsWith(to)));
  const title = session === undefined ? 'Log in' : (current?.[1] ?? 'tufota');
  useEffect(() => {
    document.title = `${title} · tufota fleet`;
  }, [title]);

  if (session === undefined) {
    return (
      <main class="container narrow">
        <LoginPage onLogIn={() => setSession(currentSession())} />
      </main>
    );
  }
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="container">
        <nav aria-label="Main">
          <ul>
            <li>
              <strong>tufota fleet</strong>
            </li>
          </ul>
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <Link to={to} aria-current={current?.[0] === to ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
            <li>
              <button
                type="button"
                class="secondary outline"
                onClick={() => {
                  logOut();
                  navigate('/', true);
                }}
              >
                Log out {session.user.userId}
                {session.user.role === undefined ? '' : ` (${session.user.role})`}
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main id="main" class="container" tabIndex={-1}>
        <Page path={route.path} search={route.search} />
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);

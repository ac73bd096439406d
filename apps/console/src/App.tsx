import { lazy, Suspense, useEffect, useRef } from 'react';
import { Link } from './components/common';
import { agpu } from './format';
import { usePathname } from './navigation';
import { SignInPage } from './pages/SignInPage';
import { navSection, parseRoute, type Route } from './router';
import { SessionProvider, useSession } from './session';
import { ThemeContext, useTheme } from './theme';

// each page its own chunk: charts (echarts) and the node key's signing (viem) load with the pages that use them
const JobsPage = lazy(() => import('./pages/JobsPage').then((m) => ({ default: m.JobsPage })));
const NewJobPage = lazy(() => import('./pages/NewJobPage').then((m) => ({ default: m.NewJobPage })));
const JobPage = lazy(() => import('./pages/JobPage').then((m) => ({ default: m.JobPage })));
const MarketPage = lazy(() => import('./pages/MarketPage').then((m) => ({ default: m.MarketPage })));
const ProviderPage = lazy(() => import('./pages/ProviderPage').then((m) => ({ default: m.ProviderPage })));
const OperatorPage = lazy(() => import('./pages/OperatorPage').then((m) => ({ default: m.OperatorPage })));
const AuditorPage = lazy(() => import('./pages/AuditorPage').then((m) => ({ default: m.AuditorPage })));

const NAV: { label: string; route: Route }[] = [
  { label: 'Jobs', route: { name: 'jobs' } },
  { label: 'New job', route: { name: 'new-job' } },
  { label: 'Market', route: { name: 'market' } },
  { label: 'Provider', route: { name: 'provider' } },
  { label: 'Operator', route: { name: 'operator' } },
  { label: 'Auditor', route: { name: 'auditor' } },
];

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}

function Shell() {
  const { theme, toggle } = useTheme();
  const route = parseRoute(usePathname());
  const session = useSession();
  const section = navSection(route);
  const main = useRef<HTMLElement>(null);

  // a new page: its title, and focus on its content for keyboard and screen-reader users
  const first = useRef(true);
  useEffect(() => {
    document.title = `${titleOf(route)} · StarMiner console`;
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus({ preventScroll: true });
  }, [route.name, route.name === 'job' ? route.jobId : '']);

  return (
    <ThemeContext.Provider value={theme}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={{ name: 'home' }} className="brand">
          StarMiner <span className="brand-sub">console</span>
        </Link>
        <div className="account">
          {session.apiKey && session.account ? (
            <>
              <span className="org" title={`org ${session.account.orgId}, account ${session.account.accountAddress}`}>
                {session.account.name}
              </span>
              <span className="balance" title={`${session.account.balanceWei} wei`}>
                <span className="sr-only">Balance: </span>
                {agpu(session.account.balanceWei, 18)}
              </span>
            </>
          ) : null}
          <button type="button" className="ghost" onClick={toggle}>
            {theme === 'dark' ? 'Light mode' : 'Dark mode'}
          </button>
          {session.apiKey ? (
            <button type="button" className="ghost" onClick={session.signOut}>
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      <nav aria-label="Main" className="nav">
        <ul>
          {NAV.map((n) => (
            <li key={n.label}>
              <Link to={n.route} ariaCurrent={section === n.route.name}>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Page route={route} />
        </Suspense>
      </main>
      <footer className="footer">
        <p className="muted small">StarMiner: a GPU compute exchange. Amounts in AGPU (18 decimals); times in UTC.</p>
      </footer>
    </ThemeContext.Provider>
  );
}

function titleOf(route: Route): string {
  switch (route.name) {
    case 'home':
    case 'jobs':
      return 'Jobs';
    case 'new-job':
      return 'New job';
    case 'job':
      return `Job ${route.jobId}`;
    case 'market':
      return 'Market';
    case 'provider':
      return 'Provider';
    case 'operator':
      return 'Operator';
    case 'auditor':
      return 'Auditor';
    case 'not-found':
      return 'Not found';
  }
}

function Page({ route }: { route: Route }) {
  const session = useSession();
  const needsKey = route.name === 'home' || route.name === 'jobs' || route.name === 'new-job' || route.name === 'job';
  if (needsKey && !session.apiKey) return <SignInPage />;
  switch (route.name) {
    case 'home':
    case 'jobs':
      return <JobsPage />;
    case 'new-job':
      return <NewJobPage />;
    case 'job':
      return <JobPage key={route.jobId} jobId={route.jobId} />;
    case 'market':
      return <MarketPage />;
    case 'provider':
      return <ProviderPage />;
    case 'operator':
      return <OperatorPage />;
    case 'auditor':
      return <AuditorPage />;
    case 'not-found':
      return (
        <>
          <h1>Not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <Link to={{ name: 'jobs' }}>Go to your jobs</Link>.
          </p>
        </>
      );
  }
}

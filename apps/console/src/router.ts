/**
 * The console's routes under /app/ (a history router: the gateway answers every /app path with
 * index.html). Pure: parse a pathname into a route, and a route into its href.
 */
export const BASE_PATH = '/app';

export type Route =
  | { name: 'home' }
  | { name: 'jobs' }
  | { name: 'new-job' }
  | { name: 'job'; jobId: string }
  | { name: 'market' }
  | { name: 'provider' }
  | { name: 'operator' }
  | { name: 'auditor' }
  | { name: 'not-found'; path: string };

const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The route of a pathname (`/app/jobs/abc` → job abc); anything outside /app or unknown is not-found. */
export function parseRoute(pathname: string): Route {
  if (pathname !== BASE_PATH && !pathname.startsWith(`${BASE_PATH}/`)) return { name: 'not-found', path: pathname };
  const rest = pathname.slice(BASE_PATH.length).replace(/\/+$/, '');
  const parts = rest.split('/').filter((p) => p.length > 0);
  if (parts.length === 0) return { name: 'home' };
  let decoded: string[];
  try {
    decoded = parts.map((p) => decodeURIComponent(p));
  } catch {
    return { name: 'not-found', path: pathname };
  }
  const [first, second] = decoded;
  if (decoded.length === 1) {
    switch (first) {
      case 'jobs':
        return { name: 'jobs' };
      case 'new':
        return { name: 'new-job' };
      case 'market':
        return { name: 'market' };
      case 'provider':
        return { name: 'provider' };
      case 'operator':
        return { name: 'operator' };
      case 'auditor':
        return { name: 'auditor' };
    }
  }
  if (decoded.length === 2 && first === 'jobs' && ID.test(second)) return { name: 'job', jobId: second };
  return { name: 'not-found', path: pathname };
}

/** The href of a route. */
export function hrefOf(route: Route): string {
  switch (route.name) {
    case 'home':
      return `${BASE_PATH}/`;
    case 'jobs':
      return `${BASE_PATH}/jobs`;
    case 'new-job':
      return `${BASE_PATH}/new`;
    case 'job':
      return `${BASE_PATH}/jobs/${encodeURIComponent(route.jobId)}`;
    case 'market':
      return `${BASE_PATH}/market`;
    case 'provider':
      return `${BASE_PATH}/provider`;
    case 'operator':
      return `${BASE_PATH}/operator`;
    case 'auditor':
      return `${BASE_PATH}/auditor`;
    case 'not-found':
      return route.path;
    default: {
      const never: never = route;
      return never;
    }
  }
}

/** Which nav entry a route belongs to (a job page is under Jobs). */
export function navSection(route: Route): Route['name'] {
  return route.name === 'job' || route.name === 'home' ? 'jobs' : route.name;
}

/** Whether a click on a link should be left to the browser (a new tab, a download, another origin). */
export function isPlainLeftClick(e: { button: number; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean; altKey: boolean; defaultPrevented: boolean }): boolean {
  return e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey && !e.defaultPrevented;
}

import { hrefOf, navSection, parseRoute, type Route } from './router';

describe('routes', () => {
  it.each<[string, Route]>([
    ['/app', { name: 'home' }],
    ['/app/', { name: 'home' }],
    ['/app/jobs', { name: 'jobs' }],
    ['/app/jobs/', { name: 'jobs' }],
    ['/app/new', { name: 'new-job' }],
    ['/app/jobs/0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6', { name: 'job', jobId: '0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6' }],
    ['/app/market', { name: 'market' }],
    ['/app/provider', { name: 'provider' }],
    ['/app/operator', { name: 'operator' }],
    ['/app/auditor', { name: 'auditor' }],
    ['/app/jobs/bad%20id', { name: 'not-found', path: '/app/jobs/bad%20id' }],
    ['/app/jobs/%E0%A4%A', { name: 'not-found', path: '/app/jobs/%E0%A4%A' }],
    ['/application', { name: 'not-found', path: '/application' }],
    ['/v1/jobs', { name: 'not-found', path: '/v1/jobs' }],
  ])('%s', (path, route) => expect(parseRoute(path)).toEqual(route));

  it('hrefOf and parseRoute agree', () => {
    const routes: Route[] = [{ name: 'home' }, { name: 'jobs' }, { name: 'new-job' }, { name: 'job', jobId: 'abc_1-2' }, { name: 'market' }, { name: 'provider' }, { name: 'operator' }, { name: 'auditor' }];
    for (const r of routes) expect(parseRoute(hrefOf(r))).toEqual(r);
  });
  it('puts a job page under Jobs', () => {
    expect(navSection({ name: 'job', jobId: 'x' })).toBe('jobs');
    expect(navSection({ name: 'market' })).toBe('market');
  });
});

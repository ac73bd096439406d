// The same check for a CommonJS TypeScript project (the `require` condition's declarations).
/* eslint-disable @typescript-eslint/no-require-imports -- how a CommonJS TypeScript file imports: what this file checks */
import sdk = require('@starminer/sdk');
import provider = require('@starminer/sdk/provider');

export async function typed(): Promise<sdk.Job> {
  const sm = sdk.createClient({ baseUrl: 'http://127.0.0.1:8080' });
  // @ts-expect-error one object parameter per call
  await sm.listJobs(5);
  const page: sdk.JobPage = await sm.listJobs({ limit: 5 });
  void provider.createProviderClient;
  return page.jobs[0]!;
}

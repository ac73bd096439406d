import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenApiDocument } from './document';

/** `npm run openapi`: writes docs/openapi.json, the contract clients (and the SDK's types) are generated from. */
export const OPENAPI_PATH = join(__dirname, '../../docs/openapi.json');

async function main(): Promise<void> {
  const doc = await buildOpenApiDocument();
  writeFileSync(OPENAPI_PATH, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`openapi: ${Object.keys(doc.paths).length} paths, ${Object.keys(doc.components?.schemas ?? {}).length} schemas -> docs/openapi.json`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

/**
 * The gateway's views projection, per event (`applyToViews`, the baseline) against a batch at a
 * time (`applyViewsBatch`): `npm run bench:views [-- --jobs N --batch B --in-flight F --seed S]`.
 * How it measures: tools/bench/projection-paths.ts.
 */
import { VIEW_ENTITIES } from '../../apps/gateway/src/views/entities';
import { applyViewsBatch } from '../../apps/gateway/src/views/views-batch';
import { applyToViews } from '../../apps/gateway/src/views/views.projection';
import { mainOf } from './projection-paths';

mainOf({
  name: 'views',
  entities: VIEW_ENTITIES,
  perEvent: applyToViews,
  batch: applyViewsBatch,
  spec: 'apps/gateway/src/views/views-batch.spec.ts',
});

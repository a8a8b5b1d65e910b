// The shared store suite on the embedded engine. The same suite runs on PostgreSQL in
// test/services/store.postgres.test.ts (npm run test:services).
import { storeSuite } from '../../test/services/store-suite';
import { pgliteTarget } from '../../test/services/store-target';

storeSuite(pgliteTarget());

// The shared bulk load test on the embedded engine; test/services/load.postgres.test.ts runs it on
// PostgreSQL.
import { loadSuite } from '../../test/services/load-suite';
import { pgliteTarget } from '../../test/services/store-target';

loadSuite(pgliteTarget());

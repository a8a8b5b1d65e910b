// The shared bulk load test on a real PostgreSQL server, in a database of its own.
import { loadSuite } from './load-suite';
import { postgresTarget } from './store-target';

loadSuite(postgresTarget());

// The shared migration suite on a real PostgreSQL server, in databases of its own.
import { migrateSuite } from './migrate-suite';
import { postgresTarget } from './store-target';

migrateSuite(postgresTarget());

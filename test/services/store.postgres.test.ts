// The shared store suite on a real PostgreSQL server, in a database of its own.
import { storeSuite } from './store-suite';
import { postgresTarget } from './store-target';

storeSuite(postgresTarget());

// Entry point of a role process forked by the supervisor: `node child.js cloud|edge`.
import { runRole } from './process';

const role = process.argv[2];
if (role !== 'cloud' && role !== 'edge') {
    process.stderr.write(`child.js: expected role cloud or edge, got "${role}"\n`);
    process.exit(2);
}
void runRole(role);

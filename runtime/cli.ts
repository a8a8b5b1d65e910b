// The `upstream-live` command.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigError } from '../lib/errors';
import { PROJECT_ROOT } from '../lib/paths';
import { loadIssuer } from './auth/issuer';
import { loadUsers, usersFile } from './auth/users';
import { runFlowsCommand } from './flows-command';
import { createLogger } from './logging';
import { EXIT_USAGE, helpText, parseOptions, UsageError } from './options';
import { runRole } from './process';
import { runSupervisor } from './supervisor';

function version(): string {
    return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Returns the index of the first argument that is neither an option nor the value of one, or -1. */
function firstPositional(args: string[]): number {
    for (let i = 0; i < args.length; i++) {
        if (!args[i].startsWith('-')) return i;
        // `--name VALUE` takes the next argument as its value; `--name=VALUE` does not.
        if (!args[i].includes('=')) i++;
    }
    return -1;
}

const TOKEN_USAGE = [
    'Usage: upstream-live token USER [--data-dir DIR]',
    '',
    'Prints a bearer token for a demo user of the data folder, for the API and the reading stream.',
    'Demo users: admin, analyst, petrobras-ops, equinor-ops, public.',
    '',
    'Example: curl -H "authorization: Bearer $(upstream-live token analyst)" http://127.0.0.1:1880/v1/assets',
].join('\n');

async function printToken(args: string[]): Promise<number> {
    const position = firstPositional(args);
    const username = position === -1 ? undefined : args[position];
    const rest = args.filter((_arg, i) => i !== position);
    if (!username) throw new UsageError('Name a user: upstream-live token USER [--data-dir DIR]; demo users are admin, analyst, petrobras-ops, equinor-ops, public.');
    const options = parseOptions(rest);
    if (!existsSync(usersFile(options.dataDir))) {
        throw new UsageError(`No demo accounts in ${options.dataDir}; start the demo once with \`npm start\`, or pass --data-dir with the data folder it printed.`);
    }
    const user = loadUsers(options.dataDir).find(username);
    if (!user) throw new UsageError(`Unknown user "${username}" in ${join(options.dataDir, 'users.json')}; demo users are admin, analyst, petrobras-ops, equinor-ops, public.`);
    const issuer = await loadIssuer(options.dataDir);
    process.stdout.write((await issuer.issue({ sub: user.username, roles: user.roles, operator: user.operator })) + '\n');
    return 0;
}

export async function main(argv: string[]): Promise<number | undefined> {
    const [command = 'help', ...args] = argv;
    try {
        switch (command) {
            case 'start': {
                if (args.includes('--help') || args.includes('-h')) {
                    process.stdout.write(helpText() + '\n');
                    return 0;
                }
                const options = parseOptions(args);
                if (options.profile === 'all') return await runSupervisor(options, createLogger({ role: 'supervisor' }));
                await runRole(options.profile, options);
                return undefined;
            }
            case 'token':
                if (args.includes('--help') || args.includes('-h')) {
                    process.stdout.write(TOKEN_USAGE + '\n');
                    return 0;
                }
                return await printToken(args);
            case 'flows':
                return runFlowsCommand(args);
            case 'version':
            case '--version':
                process.stdout.write(version() + '\n');
                return 0;
            case 'help':
            case '--help':
            case '-h':
                process.stdout.write(helpText() + '\n');
                return 0;
            default:
                throw new UsageError(`Unknown command "${command}"; run \`upstream-live --help\` for the list.`);
        }
    } catch (err) {
        if (err instanceof UsageError || err instanceof ConfigError) {
            process.stderr.write(`upstream-live: ${err.message}\n`);
            return EXIT_USAGE;
        }
        throw err;
    }
}

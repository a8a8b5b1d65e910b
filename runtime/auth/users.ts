// Demo user store for the built-in issuer: users.json under the data folder, with scrypt
// password hashes. Passwords are generated on first start and written once to a file only the
// owner can read.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import type { Role } from '../../lib/auth/types';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export interface StoredUser {
    username: string;
    roles: Role[];
    operator?: string;
    /** `scrypt$<salt base64>$<hash base64>` */
    password_hash: string;
}

/** The demo accounts: one per role, and one operator account per demo operator. */
const DEMO_USERS: Omit<StoredUser, 'password_hash'>[] = [
    { username: 'admin', roles: ['regulator-admin'] },
    { username: 'analyst', roles: ['analyst'] },
    { username: 'petrobras-ops', roles: ['operator'], operator: 'petrobras' },
    { username: 'equinor-ops', roles: ['operator'], operator: 'equinor' },
    { username: 'public', roles: ['public'] },
];

export async function hashPassword(password: string): Promise<string> {
    const salt = randomBytes(16);
    const hash = await scrypt(password, salt, 32);
    return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function checkPassword(password: string, stored: string): Promise<boolean> {
    const [scheme, salt, hash] = stored.split('$');
    if (scheme !== 'scrypt' || !salt || !hash) return false;
    const expected = Buffer.from(hash, 'base64');
    const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length);
    return timingSafeEqual(actual, expected);
}

export interface UserStore {
    users: StoredUser[];
    find(username: string): StoredUser | undefined;
    authenticate(username: string, password: string): Promise<StoredUser | undefined>;
}

export function usersFile(dataDir: string): string {
    return join(dataDir, 'users.json');
}

export function demoCredentialsFile(dataDir: string): string {
    return join(dataDir, 'demo-credentials.txt');
}

/**
 * Creates users.json with the demo accounts and random passwords when it does not exist.
 * Returns the plain passwords only when it created them.
 */
export async function ensureDemoUsers(dataDir: string): Promise<Record<string, string> | undefined> {
    const file = usersFile(dataDir);
    if (existsSync(file)) return undefined;

    const passwords: Record<string, string> = {};
    const users: StoredUser[] = [];
    for (const user of DEMO_USERS) {
        const password = randomBytes(9).toString('base64url');
        passwords[user.username] = password;
        users.push({ ...user, password_hash: await hashPassword(password) });
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ users }, null, 4) + '\n', { mode: 0o600 });
    const lines = Object.entries(passwords).map(([name, password]) => `${name} ${password}`);
    writeFileSync(demoCredentialsFile(dataDir), `# Demo accounts: username password\n${lines.join('\n')}\n`, { mode: 0o600 });
    return passwords;
}

/** Reads the demo passwords written on first start, for the start-up banner. */
export function readDemoCredentials(dataDir: string): Record<string, string> {
    const file = demoCredentialsFile(dataDir);
    if (!existsSync(file)) return {};
    const entries = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => line.split(' ') as [string, string]);
    return Object.fromEntries(entries);
}

export function loadUsers(dataDir: string): UserStore {
    const file = usersFile(dataDir);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { users?: StoredUser[] };
    if (!Array.isArray(parsed.users)) throw new Error(`${file} has no "users" array; delete the file to recreate the demo accounts.`);
    const users = parsed.users;
    return {
        users,
        find: (username) => users.find((u) => u.username === username),
        async authenticate(username, password) {
            const user = users.find((u) => u.username === username);
            if (!user) return undefined;
            return (await checkPassword(password, user.password_hash)) ? user : undefined;
        },
    };
}

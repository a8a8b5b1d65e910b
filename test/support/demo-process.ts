// Starts the one-command demo (`upstream-live start`) as a child process for tests, on free
// loopback ports and a temporary data folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as { port: number };
            server.close(() => resolve(port));
        });
    });
}

export interface DemoProcess {
    child: ChildProcess;
    baseUrl: string;
    ports: { http: number; edge: number; mqtt: number };
    output: () => string;
    /** Resolves when the output contains the text. */
    waitFor(text: string | RegExp, timeoutMs: number): Promise<void>;
    /** Sends SIGINT as Ctrl-C would, and resolves with the exit code. */
    stop(timeoutMs?: number): Promise<number | null>;
}

export async function startDemo(dataDir: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<DemoProcess> {
    const ports = { http: await freePort(), edge: await freePort(), mqtt: await freePort() };
    const args = [
        join(ROOT, 'bin', 'upstream-live.js'),
        'start',
        '--data-dir', dataDir,
        '--port', String(ports.http),
        '--edge-port', String(ports.edge),
        '--mqtt-port', String(ports.mqtt),
        ...extraArgs,
    ];
    const child = spawn(process.execPath, args, { env: { ...process.env, UL_LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const waiters: { pattern: string | RegExp; resolve: () => void }[] = [];
    const onData = (chunk: Buffer) => {
        output += chunk.toString();
        for (const waiter of [...waiters]) {
            const hit = typeof waiter.pattern === 'string' ? output.includes(waiter.pattern) : waiter.pattern.test(output);
            if (hit) {
                waiters.splice(waiters.indexOf(waiter), 1);
                waiter.resolve();
            }
        }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);

    return {
        child,
        baseUrl: `http://127.0.0.1:${ports.http}`,
        ports,
        output: () => output,
        waitFor(pattern, timeoutMs) {
            return new Promise<void>((resolve, reject) => {
                const hit = typeof pattern === 'string' ? output.includes(pattern) : pattern.test(output);
                if (hit) return resolve();
                const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}; output so far:\n${output.slice(-4000)}`)), timeoutMs);
                waiters.push({ pattern, resolve: () => { clearTimeout(timer); resolve(); } });
                child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited with ${code} while waiting for ${String(pattern)}:\n${output.slice(-4000)}`)); });
            });
        },
        stop(timeoutMs = 60_000) {
            return new Promise((resolve, reject) => {
                if (child.exitCode !== null) return resolve(child.exitCode);
                const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`demo did not stop within ${timeoutMs} ms`)); }, timeoutMs);
                child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
                child.kill('SIGINT');
            });
        },
    };
}

export function demoPassword(dataDir: string, username: string): string {
    const line = readFileSync(join(dataDir, 'demo-credentials.txt'), 'utf8').split('\n').find((l) => l.startsWith(username + ' '));
    if (!line) throw new Error(`no demo password for ${username}`);
    return line.split(' ')[1];
}

export async function login(baseUrl: string, username: string, password: string): Promise<string> {
    const response = await fetch(`${baseUrl}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    if (!response.ok) throw new Error(`login as ${username} failed: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { access_token: string }).access_token;
}

export async function getJson<T>(url: string, token: string): Promise<T> {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET ${url} failed: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
}

/** Polls until `check` returns a value other than undefined. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 500): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await check();
            if (value !== undefined) return value;
        } catch (err) {
            last = err;
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
    throw new Error(`timed out after ${timeoutMs} ms: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

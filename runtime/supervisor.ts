// Profile `all`: the embedded MQTT broker in this process, and the cloud and edge runtimes as
// two child processes that talk to each other only over MQTT, as at a real site.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { loadAssetRegistry } from '../lib/normalize/asset-registry';
import { watchdogSeconds } from '../lib/observability/loop-watchdog';
import { startBroker, type EmbeddedBroker } from './broker';
import { checkPortsFree, portsToCheck } from './ports';
import { lockDataDir } from './lock';
import { mqttAccounts, type MqttAccount } from './secrets';
import { EXIT_CONFIG, HEARTBEAT_MS } from './process';
import { provisionDemo } from './demo';
import { readDemoCredentials } from './auth/users';
import type { Logger } from './logging';
import { optionsToEnv, type RuntimeOptions } from './options';

type Role = 'cloud' | 'edge';

interface Child {
    role: Role;
    process?: ChildProcess;
    restarts: number;
    /** Time of the last ready or heartbeat message, in epoch milliseconds. */
    lastBeat?: number;
    ready: boolean;
    startupMs?: number;
    /** HTTP port the runtime listens on, as it reported when ready (differs from the option for port 0). */
    port?: number;
}

function runDir(dataDir: string): string {
    return join(dataDir, 'run');
}

export async function runSupervisor(options: RuntimeOptions, logger: Logger): Promise<number> {
    const started = Date.now();
    // The ports are checked first, so a taken port is reported before the lock or demo files are written.
    await checkPortsFree(options.host, portsToCheck('all', options));
    // The cloud runtime reads the asset registry too; a broken file is reported before anything is written.
    loadAssetRegistry(options.assetsFile);
    const watchdogMs = watchdogSeconds() * 1_000;
    const unlock = lockDataDir(options.dataDir, 'supervisor');
    let broker: EmbeddedBroker;
    let accounts: MqttAccount[] = [];
    try {
        await provisionDemo(options.dataDir, options.importDemoReport, logger);
        accounts = mqttAccounts(options.dataDir);
        broker = await startBroker(options.host, options.mqttPort, logger, accounts);
    } catch (err) {
        unlock();
        throw err;
    }
    const resolved: RuntimeOptions = { ...options, mqttPort: broker.port, mqttUrl: options.mqttUrl.replace(/:\d+$/, `:${broker.port}`) };
    mkdirSync(runDir(options.dataDir), { recursive: true });

    const children: Record<Role, Child> = { cloud: { role: 'cloud', restarts: 0, ready: false }, edge: { role: 'edge', restarts: 0, ready: false } };
    let shuttingDown = false;
    let bannerShown = false;
    let exitCode = 0;
    let shutdown: (signal: string) => Promise<void> = async () => undefined;

    const showBanner = () => {
        if (bannerShown || !children.cloud.ready || !children.edge.ready) return;
        bannerShown = true;
        const base = `http://${options.host}:${children.cloud.port ?? options.port}`;
        const credentials = readDemoCredentials(options.dataDir);
        const login = credentials.admin ? `log in as admin / ${credentials.admin}` : `accounts in ${join(options.dataDir, 'demo-credentials.txt')}`;
        // The token command reads the same data folder, so a non-default one is part of the hint.
        const dataDirFlag = options.dataDir === resolve('.upstream-live') ? '' : ` --data-dir ${options.dataDir}`;
        const lines = [
            '',
            `Upstream Live is running (profile all), ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
            `  Dashboard     ${base}/dashboard/   ${login}`,
            `  API           ${base}/v1/          token: POST ${base}/auth/token or \`node bin/upstream-live.js token analyst${dataDirFlag}\``,
            `  Cloud editor  ${base}/editor/`,
            `  Edge editor   http://${options.host}:${children.edge.port ?? options.edgePort}/`,
            `  MQTT broker   ${resolved.mqttUrl}`,
            `  Data folder   ${options.dataDir}  (demo accounts in demo-credentials.txt)`,
            'Press Ctrl-C to stop.',
            '',
        ];
        process.stdout.write(lines.join('\n') + '\n');
    };

    const start = (child: Child) => {
        const entry = join(__dirname, 'child.js');
        const account = accounts.find((candidate) => candidate.role === child.role);
        const credentials = account ? { UL_MQTT_USERNAME: account.username, UL_MQTT_PASSWORD: account.password } : {};
        const proc = fork(entry, [child.role], { env: { ...process.env, ...optionsToEnv(resolved), ...credentials, UL_ROLE: child.role }, stdio: 'inherit' });
        child.process = proc;
        child.ready = false;
        writeFileSync(join(runDir(options.dataDir), `${child.role}.pid`), `${proc.pid}\n`);
        proc.on('message', (message: { type?: string; startupMs?: number; port?: number }) => {
            if (message?.type === 'ready' || message?.type === 'heartbeat') child.lastBeat = Date.now();
            if (message?.type === 'ready') {
                child.ready = true;
                child.startupMs = message.startupMs;
                child.port = message.port;
                showBanner();
            }
        });
        proc.on('exit', (code, signal) => {
            child.ready = false;
            if (shuttingDown) return;
            if (code === EXIT_CONFIG) {
                // The child logged what is wrong with its configuration; restarting cannot help.
                exitCode = EXIT_CONFIG;
                void shutdown(`${child.role} configuration error`);
                return;
            }
            child.restarts += 1;
            const delay = Math.min(30_000, 1000 * 2 ** Math.min(child.restarts - 1, 5));
            logger.warn(`${child.role} runtime exited; restarting`, { code, signal, restart: child.restarts, delay_ms: delay });
            setTimeout(() => {
                if (!shuttingDown) start(child);
            }, delay);
        });
    };

    // A ready runtime that sends no heartbeat for the watchdog time is killed, and the exit handler
    // above starts it again. The restart loses nothing, because delivery is at least once.
    const watchdog = setInterval(() => {
        if (shuttingDown) return;
        for (const child of Object.values(children)) {
            const proc = child.process;
            if (!child.ready || child.lastBeat === undefined || !proc || proc.exitCode !== null || proc.signalCode !== null) continue;
            const silentMs = Date.now() - child.lastBeat;
            if (silentMs <= watchdogMs) continue;
            logger.error(`${child.role} runtime sent no heartbeat for ${Math.round(silentMs / 1_000)} s; killing it so that it restarts`, { pid: proc.pid });
            child.ready = false;
            proc.kill('SIGKILL');
        }
    }, Math.min(HEARTBEAT_MS, watchdogMs));
    watchdog.unref();

    const stopChild = (child: Child, timeoutMs: number) =>
        new Promise<void>((resolve) => {
            const proc = child.process;
            if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
                resolve();
                return;
            }
            const timer = setTimeout(() => {
                logger.error(`${child.role} runtime did not stop in time; killing it`);
                proc.kill('SIGKILL');
            }, timeoutMs);
            proc.once('exit', () => {
                clearTimeout(timer);
                resolve();
            });
            proc.kill('SIGTERM');
        });

    // The cloud starts first so that its persistent MQTT session exists before the edge publishes.
    start(children.cloud);
    await new Promise<void>((resolve) => {
        const check = setInterval(() => {
            if (children.cloud.ready || shuttingDown || exitCode !== 0) {
                clearInterval(check);
                resolve();
            }
        }, 50);
    });
    if (exitCode === 0) start(children.edge);

    return new Promise<number>((resolve) => {
        shutdown = async (signal: string) => {
            if (shuttingDown) return;
            shuttingDown = true;
            logger.info('stopping', { signal });
            // Edge first, so nothing new is published. The cloud then gets a moment to receive what
            // the broker still queues for it before it drains its flows and stops.
            await stopChild(children.edge, 45_000);
            await new Promise((r) => setTimeout(r, 1000));
            await stopChild(children.cloud, 45_000);
            await broker.close();
            for (const role of ['cloud', 'edge']) rmSync(join(runDir(options.dataDir), `${role}.pid`), { force: true });
            unlock();
            logger.info('stopped');
            resolve(exitCode);
        };
        if (exitCode !== 0) void shutdown('configuration error');
        process.on('SIGINT', () => void shutdown('SIGINT'));
        process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}

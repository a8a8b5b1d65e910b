// Runs one role (cloud or edge) in this process until SIGTERM. Under the supervisor the process
// ignores SIGINT, so Ctrl-C in a terminal lets the supervisor stop the roles in order.
import { ConfigError } from '../lib/errors';
import { watchLoopHealth } from '../lib/observability/loop-health';
import { startLoopWatchdog, watchdogSeconds } from '../lib/observability/loop-watchdog';
import { lockDataDir } from './lock';
import { startCloud, startEdge, type RunningRole } from './roles';
import { createLogger } from './logging';
import { optionsToEnv, parseOptions, type RuntimeOptions } from './options';
import { checkPortsFree, portsToCheck } from './ports';

/** Exit code of a role process that cannot start because of its configuration. */
export const EXIT_CONFIG = 2;

/** Environment the flow files expect beyond the command options, unless the caller set it. */
function flowEnvironment(role: 'cloud' | 'edge', databaseUrl: string): Record<string, string> {
    const defaults: Record<string, string> =
        role === 'cloud'
            ? {
                  UL_STORE_ENGINE: databaseUrl ? 'postgres' : 'pglite',
                  UL_BUS_TRANSPORT: 'memory',
                  // Empty: each runtime receives every MQTT message. Runtimes that share a broker
                  // set the same group, and the broker splits the messages between them.
                  UL_MQTT_SHARED_GROUP: '',
                  // Node-RED leaves `${NAME}` in place when NAME is unset, so every variable the
                  // flow names gets a value. No SMTP host means alert e-mails go to the outbox.
                  UL_SMTP_HOST: '',
                  UL_SMTP_PORT: '587',
              }
            : {
                  // The demo site replays three real wells: a choke restriction, a spurious
                  // closure of the downhole safety valve and a well in normal operation.
                  UL_REPLAY_FILE_A: 'petrobras-3w/6/WELL-00004_20171031193025.csv',
                  UL_REPLAY_FILE_B: 'petrobras-3w/2/WELL-00012_20170320143144.csv',
                  UL_REPLAY_FILE_C: 'petrobras-3w/0/WELL-00007_20170801180000.csv',
              };
    // An external broker without accounts needs no credentials; the embedded one gets them from the
    // supervisor. TLS files are for an external broker on mqtts://, relative to the data folder.
    const shared: Record<string, string> = { UL_MQTT_USERNAME: '', UL_MQTT_PASSWORD: '', UL_MQTT_TLS_CA: '', UL_MQTT_TLS_CERT: '', UL_MQTT_TLS_KEY: '' };
    return Object.fromEntries(Object.entries({ ...shared, ...defaults }).filter(([name]) => process.env[name] === undefined));
}

/** Interval of the heartbeat a supervised runtime sends, in milliseconds. */
export const HEARTBEAT_MS = 5_000;

export async function runRole(role: 'cloud' | 'edge', options: RuntimeOptions = parseOptions([])): Promise<void> {
    const logger = createLogger({ role });
    // Flow files read their settings from the environment (`${UL_MQTT_URL}` and so on).
    Object.assign(process.env, optionsToEnv(options), flowEnvironment(role, options.databaseUrl));
    const supervised = typeof process.send === 'function';
    const started = Date.now();

    let running: RunningRole;
    let unlock: () => void = () => undefined;
    let watchdogMs: number;
    try {
        watchdogMs = watchdogSeconds() * 1_000;
        await checkPortsFree(options.host, portsToCheck(role, options));
        unlock = lockDataDir(options.dataDir, role);
        running = role === 'cloud' ? await startCloud(options, logger) : await startEdge(options, logger);
    } catch (err) {
        unlock();
        if (err instanceof ConfigError) {
            // A configuration problem does not go away by restarting, so exit code 2 asks the
            // supervisor not to try again.
            logger.error(err.message);
            process.exit(EXIT_CONFIG);
        }
        logger.error(`${role} runtime failed to start`, { error: err });
        process.exit(1);
    }
    logger.info(`${role} runtime ready`, { port: running.port, startup_ms: Date.now() - started, pid: process.pid });
    process.send?.({ type: 'ready', role, port: running.port, startupMs: Date.now() - started });
    // The supervisor restarts a runtime whose heartbeats stop, such as one stuck in a loop. Without
    // a supervisor the process watches its own event loop and exits for its service manager.
    if (supervised) setInterval(() => process.send?.({ type: 'heartbeat' }), HEARTBEAT_MS).unref();
    else startLoopWatchdog(watchdogMs, role);
    watchLoopHealth();

    let stopping = false;
    const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info(`${role} runtime stopping`, { signal });
        const timer = setTimeout(() => {
            logger.error(`${role} runtime did not stop within 40 s; exiting anyway`);
            process.exit(1);
        }, 40_000);
        try {
            await running.stop();
            unlock();
            clearTimeout(timer);
            logger.info(`${role} runtime stopped`);
            process.exit(0);
        } catch (err) {
            logger.error(`${role} runtime failed to stop cleanly`, { error: err });
            process.exit(1);
        }
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => {
        if (!supervised) void stop('SIGINT');
    });
    process.on('disconnect', () => void stop('supervisor gone'));
}

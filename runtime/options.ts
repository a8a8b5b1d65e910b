// Command-line options and their environment variables. A flag wins over its variable; the
// variable wins over the default. Child runtimes receive the resolved values as variables.
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

import { DATA_DIR } from '../lib/paths';

import { formatRetentionPolicy, parseRetentionPolicy } from './retention';

export type Profile = 'all' | 'edge' | 'cloud';

export interface RuntimeOptions {
    profile: Profile;
    /** Folder for the embedded database, keys, users, inbox and outbox. */
    dataDir: string;
    /** Address every server listens on; loopback unless set. */
    host: string;
    /** Port of the cloud runtime: API, dashboard and flow editor. */
    port: number;
    /** Port of the edge runtime's flow editor. */
    edgePort: number;
    /** Port of the embedded MQTT broker (profile all). */
    mqttPort: number;
    /** Broker the runtimes connect to; defaults to the embedded broker. */
    mqttUrl: string;
    /** Replay speed factor: 1 is real time, 10 plays ten seconds of data per second. */
    replaySpeed: number;
    /** Whether replays start again from the top of their file when they reach the end. */
    replayLoop: boolean;
    /** PostgreSQL connection string; empty selects the embedded PGlite database. */
    databaseUrl: string;
    /** Whether the first start of profile all drops the Volve daily report into the inbox. */
    importDemoReport: boolean;
    /** Retention per resolution, as parsed by parseRetentionPolicy. */
    retention: string;
    /** Hours between retention passes of the cloud runtime; the first pass runs 10 minutes after start. */
    retentionIntervalHours: number;
    /** Asset registry of the cloud runtime, an absolute path; the project's data/assets.json unless set. */
    assetsFile: string;
    /** Device registry (public keys) of the cloud runtime, an absolute path; devices.json in the data folder unless set. */
    devicesFile: string;
    /** Whether the cloud runtime feeds its dashboard from the bus; false for runtimes that only share the ingest load. */
    dashboardFeed: boolean;
}

interface OptionSpec {
    flag: string;
    env: string;
    key: keyof RuntimeOptions;
    kind: 'string' | 'port' | 'number' | 'boolean' | 'profile' | 'host' | 'mqtt-url' | 'database-url' | 'retention';
    help: string;
    fallback: string;
}

export const OPTION_SPECS: OptionSpec[] = [
    { flag: '--profile', env: 'UL_PROFILE', key: 'profile', kind: 'profile', fallback: 'all', help: 'all (broker, cloud and edge in one command), cloud or edge' },
    { flag: '--data-dir', env: 'UL_DATA_DIR', key: 'dataDir', kind: 'string', fallback: '.upstream-live', help: 'folder for the embedded database, keys, users, inbox and outbox' },
    { flag: '--host', env: 'UL_HOST', key: 'host', kind: 'host', fallback: '127.0.0.1', help: 'address the servers listen on' },
    { flag: '--port', env: 'UL_HTTP_PORT', key: 'port', kind: 'port', fallback: '1880', help: 'cloud HTTP port: API, dashboard, flow editor' },
    { flag: '--edge-port', env: 'UL_EDGE_HTTP_PORT', key: 'edgePort', kind: 'port', fallback: '1881', help: 'edge HTTP port: edge flow editor' },
    { flag: '--mqtt-port', env: 'UL_MQTT_PORT', key: 'mqttPort', kind: 'port', fallback: '1883', help: 'port of the embedded MQTT broker (profile all)' },
    { flag: '--mqtt-url', env: 'UL_MQTT_URL', key: 'mqttUrl', kind: 'mqtt-url', fallback: '', help: 'MQTT broker URL; default is the embedded broker' },
    { flag: '--speed', env: 'UL_REPLAY_SPEED', key: 'replaySpeed', kind: 'number', fallback: '10', help: 'replay speed factor for the demo sensor files (1 = real time)' },
    { flag: '--loop', env: 'UL_REPLAY_LOOP', key: 'replayLoop', kind: 'boolean', fallback: 'true', help: 'replay the sensor files again when they end (true or false)' },
    { flag: '--database-url', env: 'UL_DATABASE_URL', key: 'databaseUrl', kind: 'database-url', fallback: '', help: 'PostgreSQL connection string; default is embedded PGlite under the data folder' },
    { flag: '--retention', env: 'UL_RETENTION', key: 'retention', kind: 'retention', fallback: 'raw=90d,1m=730d,15m=forever,1h=forever', help: 'how long the store keeps each resolution; partitions past it are dropped' },
    { flag: '--retention-interval', env: 'UL_RETENTION_INTERVAL_HOURS', key: 'retentionIntervalHours', kind: 'number', fallback: '24', help: 'hours between retention passes (the first runs 10 minutes after start)' },
    { flag: '--assets-file', env: 'UL_ASSETS_FILE', key: 'assetsFile', kind: 'string', fallback: '', help: 'asset registry of the cloud (JSON shaped like data/assets.json); default the demo registry data/assets.json' },
    { flag: '--devices-file', env: 'UL_DEVICES_FILE', key: 'devicesFile', kind: 'string', fallback: '', help: 'device registry of the cloud (public keys of the edge devices); default devices.json in the data folder' },
    { flag: '--dashboard-feed', env: 'UL_DASHBOARD_FEED', key: 'dashboardFeed', kind: 'boolean', fallback: 'true', help: 'feed this cloud runtime\'s dashboard from the bus (false on runtimes that only share the ingest load)' },
    { flag: '--import-demo-report', env: 'UL_IMPORT_DEMO_REPORT', key: 'importDemoReport', kind: 'boolean', fallback: 'true', help: 'import the Volve daily production report on first start (true or false)' },
];

/** A command line that cannot be run as written: unknown command or option, stray argument, bad value. */
export class UsageError extends Error {}

/** Exit code of the command for a usage error; the message goes to stderr. */
export const EXIT_USAGE = 2;

function hasProtocol(raw: string, protocols: string[]): boolean {
    try {
        const url = new URL(raw);
        return protocols.includes(url.protocol) && url.hostname !== '';
    } catch {
        return false;
    }
}

function convert(spec: OptionSpec, raw: string, origin: string): unknown {
    switch (spec.kind) {
        case 'profile':
            if (raw !== 'all' && raw !== 'edge' && raw !== 'cloud') {
                throw new UsageError(`${origin}: invalid profile "${raw}"; use all, edge or cloud.`);
            }
            return raw;
        case 'port': {
            // Only decimal digits: Number() would also take " 1880", "0x758" and "1.88e3".
            const port = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
            if (!Number.isInteger(port) || port < 0 || port > 65535) {
                throw new UsageError(`${origin}: invalid port "${raw}"; use a whole number from 0 to 65535.`);
            }
            return port;
        }
        case 'number': {
            const value = Number(raw);
            if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${origin}: invalid number "${raw}"; use a positive number such as 10.`);
            return value;
        }
        case 'host':
            if (raw !== 'localhost' && isIP(raw) === 0) throw new UsageError(`${origin}: invalid address "${raw}"; use an IP address of this machine such as 127.0.0.1, or localhost.`);
            return raw;
        case 'mqtt-url':
            if (raw !== '' && !hasProtocol(raw, ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'tls:'])) {
                throw new UsageError(`${origin}: invalid MQTT URL "${raw}"; use a form like mqtt://127.0.0.1:1883 or mqtts://broker.example:8883.`);
            }
            return raw;
        case 'database-url':
            if (raw !== '' && !hasProtocol(raw, ['postgres:', 'postgresql:'])) {
                throw new UsageError(`${origin}: invalid PostgreSQL URL "${raw}"; use a form like postgres://user:password@127.0.0.1:5432/upstream.`);
            }
            return raw;
        case 'retention':
            try {
                return formatRetentionPolicy(parseRetentionPolicy(raw));
            } catch (error) {
                throw new UsageError(`${origin}: ${(error as Error).message}`);
            }
        case 'boolean':
            if (raw !== 'true' && raw !== 'false') throw new UsageError(`${origin}: invalid value "${raw}"; use true or false.`);
            return raw === 'true';
        default:
            return raw;
    }
}

/** Resolves options from flags (`--port 1880` or `--port=1880`), then environment, then defaults. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
    const values: Partial<Record<keyof RuntimeOptions, unknown>> = {};
    const flags = new Map<string, string>();

    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
        if (!arg.startsWith('-')) {
            throw new UsageError(`Unexpected argument "${arg}"; only options are accepted here, each written --name VALUE or --name=VALUE. Run \`upstream-live --help\` for the list.`);
        }
        const spec = OPTION_SPECS.find((s) => s.flag === flag);
        if (!spec) throw new UsageError(`Unknown option "${arg}"; run \`upstream-live --help\` for the list.`);
        // `--port --data-dir x` is a forgotten value, not the port "--data-dir".
        const next = argv[i + 1];
        if (inline === undefined && (next === undefined || next.startsWith('--'))) {
            throw new UsageError(`Option ${flag} needs a value (${spec.help}).`);
        }
        // A repeated option takes its last value, so a wrapper script can append overrides.
        flags.set(spec.flag, inline ?? argv[++i]);
    }

    for (const spec of OPTION_SPECS) {
        const fromFlag = flags.get(spec.flag);
        const fromEnv = env[spec.env];
        if (fromFlag !== undefined) values[spec.key] = convert(spec, fromFlag, spec.flag);
        else if (fromEnv !== undefined && fromEnv !== '') values[spec.key] = convert(spec, fromEnv, spec.env);
        else values[spec.key] = convert(spec, spec.fallback, spec.flag);
    }

    const options = values as RuntimeOptions;
    options.dataDir = resolve(options.dataDir);
    options.assetsFile = options.assetsFile ? resolve(options.assetsFile) : join(DATA_DIR, 'assets.json');
    options.devicesFile = options.devicesFile ? resolve(options.devicesFile) : join(options.dataDir, 'devices.json');
    if (!options.mqttUrl) options.mqttUrl = `mqtt://127.0.0.1:${options.mqttPort}`;
    return options;
}

/** Environment variables that hand the resolved options to a child runtime. */
export function optionsToEnv(options: RuntimeOptions): Record<string, string> {
    const env: Record<string, string> = {};
    for (const spec of OPTION_SPECS) env[spec.env] = String(options[spec.key]);
    return env;
}

export function helpText(): string {
    const width = Math.max(...OPTION_SPECS.map((s) => s.flag.length)) + 8;
    const lines = OPTION_SPECS.map((s) => `  ${(s.flag + ' VALUE').padEnd(width)} ${s.help}\n  ${''.padEnd(width)} env ${s.env}, default ${s.fallback || '(see above)'}`);
    return [
        'Usage: upstream-live <command> [options]',
        '',
        'Commands:',
        '  start        run a runtime; profile all starts the MQTT broker, cloud and edge runtimes',
        '  token        print a bearer token for a demo user: upstream-live token USER [--data-dir DIR]',
        '  flows        format, check, diff and show flow files: upstream-live flows help',
        '  help         show this text',
        '  version      print the version (also --version)',
        '',
        'Options for start:',
        ...lines,
        '',
        'Environment only (no option):',
        '  UL_BUS_TRANSPORT           memory (default) or kafka: the bus between the cloud flows',
        '  UL_KAFKA_BROKERS           Kafka brokers, host:port separated by commas (with UL_BUS_TRANSPORT=kafka);',
        '                             UL_KAFKA_TLS, UL_KAFKA_TLS_CA/CERT/KEY and UL_KAFKA_SASL_MECHANISM/USERNAME/PASSWORD',
        '                             connect to a secured cluster (see the README)',
        '  UL_KAFKA_WEIGHT            this runtime\'s share of the Kafka partitions that cloud runtimes split, relative to',
        '                             the others: above 0 and up to 100, default 1; for example 0.5 on a runtime that',
        '                             also feeds the dashboard',
        '  UL_MQTT_SHARED_GROUP       shared subscription group of the cloud MQTT intake, for several cloud runtimes',
        '  UL_RUNTIME_ID              suffix of the MQTT client id, one per cloud runtime that shares a flow file',
        '  UL_MQTT_USERNAME, UL_MQTT_PASSWORD, UL_MQTT_TLS_CA/CERT/KEY',
        '                             account and TLS files of the MQTT broker (profiles cloud and edge)',
        '  UL_FLOWS_DIR               folder of edge.json and cloud.json; default flows/ of the project',
        '  UL_LOG_LEVEL, UL_LOG_FORMAT  debug, info, warn or error; json or pretty (default pretty on a terminal)',
        '  UL_CREDENTIAL_SECRET       key that encrypts the flow credentials; default a random key in the data folder',
        '  UL_WATCHDOG_SECONDS        profile all restarts a runtime that sends no heartbeat for this long; a cloud or',
        '                             edge runtime on its own exits when its event loop is blocked this long (default 60)',
        '',
        'Examples:',
        '  upstream-live start                      # one-command demo on loopback',
        '  upstream-live start --speed 60           # replay sensor files sixty times faster than real time',
        '  upstream-live start --profile cloud --mqtt-url mqtt://127.0.0.1:1883 --database-url postgres://ul@127.0.0.1/ul',
    ].join('\n');
}

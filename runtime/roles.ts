// Starts the cloud or the edge runtime in the current process.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import express from 'express';

import type { Principal } from '../lib/auth/types';
import { createBusTransport } from '../lib/bus/index';
import { parseBusSettings } from '../lib/bus/settings';
import { checkFlowCapabilities } from '../lib/flows/capabilities';
import { parseFlowText } from '../lib/flows/model';
import { loadAssetRegistry } from '../lib/normalize/asset-registry';
import { drain } from '../lib/drain';
import { renderMetrics } from '../lib/observability/counters';
import { PROJECT_ROOT } from '../lib/paths';
import type { RuntimeContext } from '../lib/runtime-context';
import { openStore } from '../lib/store/index';
import { READINGS_LIMIT } from '../lib/store/readings';
import type { Store, StoreSpec } from '../lib/store/types';
import type { Asset, Reading } from '../lib/types';
import { buildSettings, type EditorUser, type RuntimeRole } from '../settings';
import { createAuthRouter } from './api/auth-routes';
import { apiErrorHandler } from './api/errors';
import { createApiRouter } from './api/routes';
import { attachReadingStream } from './api/stream';
import { loadIssuer } from './auth/issuer';
import { ensureDemoUsers, loadUsers, type StoredUser } from './auth/users';
import { provisionDemo } from './demo';
import { DeployAuditor } from './deploy-audit';
import { startNodeRed, type NodeRedHost } from './host';
import { createIngestHandler } from './ingest';
import { nodeRedLogging, type Logger } from './logging';
import type { RuntimeOptions } from './options';
import { parseRetentionPolicy, scheduleRetention } from './retention';
import { credentialSecret } from './secrets';

export interface RunningRole {
    role: RuntimeRole;
    port: number;
    stop(): Promise<void>;
}

/** Node-RED editor rights: administrators deploy, analysts look, everyone else stays out. */
function editorPermissions(user: StoredUser | undefined): EditorUser | null {
    if (!user) return null;
    if (user.roles.includes('regulator-admin')) return { username: user.username, permissions: '*' };
    if (user.roles.includes('analyst')) return { username: user.username, permissions: 'read' };
    return null;
}

export function storeSpec(options: RuntimeOptions): StoreSpec {
    return options.databaseUrl ? { engine: 'postgres', connectionString: options.databaseUrl } : { engine: 'pglite', dataDir: join(options.dataDir, 'db') };
}

/** Returns the checked assets of the registry file. A broken file stops the start and lists its problems. */
function registryAssets(path: string): Asset[] {
    return [...loadAssetRegistry(path).values()];
}

async function editorAuth(dataDir: string) {
    await ensureDemoUsers(dataDir);
    const users = loadUsers(dataDir);
    return {
        users,
        editorUser: async (username: string) => editorPermissions(users.find(username)),
        authenticateEditorUser: async (username: string, password: string) => editorPermissions(await users.authenticate(username, password)),
    };
}

/**
 * Refuses, before Node-RED starts, a flow file with nodes that the role's profile cannot run, so
 * that the problem shows at start-up and not at the first message. A missing file starts empty.
 */
function checkProfileFlows(role: 'edge' | 'cloud'): void {
    const file = join(process.env.UL_FLOWS_DIR || join(PROJECT_ROOT, 'flows'), `${role}.json`);
    if (!existsSync(file)) return;
    checkFlowCapabilities(parseFlowText(readFileSync(file, 'utf8'), file), role, file);
}

/** The first retention pass waits this long after start-up, so that it does not hold the partition locks during start-up imports. */
const RETENTION_FIRST_DELAY_MS = 10 * 60_000;

export async function startCloud(options: RuntimeOptions, logger: Logger): Promise<RunningRole> {
    checkProfileFlows('cloud');
    // The registry is read before the data folder is made, so a broken file changes nothing.
    const assets = registryAssets(options.assetsFile);
    mkdirSync(options.dataDir, { recursive: true });
    const auth = await editorAuth(options.dataDir);
    const issuer = await loadIssuer(options.dataDir);

    const started = Date.now();
    const store: Store = await openStore(storeSpec(options));
    await store.upsertAssets(assets);
    logger.info('store open', { engine: storeSpec(options).engine, ms: Date.now() - started });
    const retentionIntervalMs = options.retentionIntervalHours * 3_600_000;
    const retention = scheduleRetention({
        store,
        policy: parseRetentionPolicy(options.retention),
        intervalMs: retentionIntervalMs,
        firstDelayMs: Math.min(RETENTION_FIRST_DELAY_MS, retentionIntervalMs),
        logger,
    });

    // The API's bus: the same transport as the flows' bus node, chosen by UL_BUS_TRANSPORT.
    const bus = createBusTransport(parseBusSettings({ transport: '${UL_BUS_TRANSPORT}' }), {
        info: (message) => logger.info(message),
        warn: (message) => logger.warn(message),
        error: (message) => logger.error(message),
        debug: (message) => logger.debug(message),
    });
    const context: RuntimeContext = {
        verifyToken: issuer.verify,
        listAssets: () => store.listAssets(),
        latestReadings: () => store.latestReadings(),
        recentEvents: () => store.listEvents({ limit: 200 }),
        readingsBetween: async (assetId, from, to) =>
            (await store.queryReadings({ asset_id: assetId, from, to, resolution: 'raw', limit: READINGS_LIMIT.max })) as Reading[],
        unresolvedEvents: async (assetId) => {
            const [open, acknowledged] = await Promise.all([
                store.listEvents({ asset_ids: [assetId], state: 'open' }),
                store.listEvents({ asset_ids: [assetId], state: 'acknowledged' }),
            ]);
            return [...open, ...acknowledged];
        },
        apiBase: '/v1',
        dataDir: options.dataDir,
    };
    const ingest = createIngestHandler({ store, bus, registryFile: options.devicesFile, assets: () => store.listAssets() });

    let detachStream: (() => Promise<void>) | undefined;
    const auditor = new DeployAuditor({
        role: 'cloud',
        logger,
        record: async (record) => {
            await store.appendAudit({ actor: record.actor, action: 'flows.deploy', subject: 'flows/cloud.json', details: { ...record } });
        },
    });
    const host: NodeRedHost = await startNodeRed({
        host: options.host,
        port: options.port,
        logger,
        onFlowsStarted: (event) => void auditor.flowsStarted(event as Parameters<DeployAuditor['flowsStarted']>[0]),
        settings: buildSettings({
            role: 'cloud',
            projectRoot: PROJECT_ROOT,
            dataDir: options.dataDir,
            credentialSecret: credentialSecret(options.dataDir),
            logging: nodeRedLogging(logger, (entry) => auditor.noteAudit(entry)),
            context,
            editorUser: auth.editorUser,
            authenticateEditorUser: auth.authenticateEditorUser,
        }),
        mountBefore(app, server) {
            app.get('/healthz', (_req, res) => {
                res.json({ status: 'ok' });
            });
            // Aggregate counters only, nothing per asset, in the Prometheus text format.
            app.get('/metrics', (_req, res) => {
                res.type('text/plain; version=0.0.4').send(renderMetrics());
            });
            app.get('/', (_req, res) => res.redirect('/dashboard/'));
            app.use('/auth', createAuthRouter(issuer, auth.users, logger));
            app.use('/v1', createApiRouter({ store, verifyToken: issuer.verify, ingest: (lines: string[], principal: Principal) => ingest(lines, principal) }));
            app.use('/v1', (_req: express.Request, res: express.Response) => {
                res.status(404).json({ error: { code: 'not_found', message: 'No such API endpoint; see GET /v1/assets, /v1/readings, /v1/events, /v1/quarantine.' } });
            });
            app.use(['/v1', '/auth'], apiErrorHandler(logger));
            detachStream = attachReadingStream({ server, path: '/v1/stream/readings', verifyToken: issuer.verify, bus, store, logger });
        },
    });

    return {
        role: 'cloud',
        port: host.port,
        async stop() {
            // Stop taking messages from the broker and let the messages in the flows reach the store.
            // Messages still in the broker wait there for the next start.
            const drained = await drain({ timeoutMs: 15_000 });
            logger.info(drained.drained ? 'flows drained' : 'flows not drained in time', { ms: drained.ms, pending: drained.pending });
            await detachStream?.();
            await host.stop();
            await bus.close();
            await retention.stop();
            await store.close();
        },
    };
}

export async function startEdge(options: RuntimeOptions, logger: Logger): Promise<RunningRole> {
    checkProfileFlows('edge');
    mkdirSync(options.dataDir, { recursive: true });
    await provisionDemo(options.dataDir, false, logger);
    const auth = await editorAuth(options.dataDir);
    // The edge has no database; its deploys are recorded in the log.
    const auditor = new DeployAuditor({ role: 'edge', logger });
    const host = await startNodeRed({
        host: options.host,
        port: options.edgePort,
        portOption: '--edge-port',
        logger,
        onFlowsStarted: (event) => void auditor.flowsStarted(event as Parameters<DeployAuditor['flowsStarted']>[0]),
        settings: buildSettings({
            role: 'edge',
            projectRoot: PROJECT_ROOT,
            dataDir: options.dataDir,
            credentialSecret: credentialSecret(options.dataDir),
            logging: nodeRedLogging(logger, (entry) => auditor.noteAudit(entry)),
            context: { dataDir: options.dataDir },
            editorUser: auth.editorUser,
            authenticateEditorUser: auth.authenticateEditorUser,
        }),
        mountBefore(app) {
            app.get('/healthz', (_req, res) => {
                res.json({ status: 'ok' });
            });
            // Forward queue depth and age, and the other counters of the edge's nodes.
            app.get('/metrics', (_req, res) => {
                res.type('text/plain; version=0.0.4').send(renderMetrics());
            });
        },
    });
    return { role: 'edge', port: host.port, stop: () => host.stop() };
}

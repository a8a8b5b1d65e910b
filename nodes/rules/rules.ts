// Evaluates the rules of a YAML file on clean readings and emits alert events as rules open and
// clear. The file is reloaded when it changes; a file with problems keeps the running rules.
import { join } from 'node:path';

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { carryDelivery } from '../../lib/bus/delivery';
import { toError } from '../../lib/errors';
import { DATA_DIR } from '../../lib/paths';
import { RulesEngine, rulesLookbackMs } from '../../lib/rules/engine';
import { checkReadings } from '../../lib/reading-input';
import { RulesFileError, loadRulesFile, resolveRulesPath } from '../../lib/rules/load';
import { readSavedAlerts, writeSavedAlerts } from '../../lib/rules/saved-alerts';
import { createAssetRegistry, readAssetsFile } from '../../lib/rules/registry';
import { watchRulesFile } from '../../lib/rules/watch';
import { runtimeContext } from '../../lib/runtime-context';
import type { AlertEvent, Reading } from '../../lib/types';
import { setStatus, throttledStatus } from '../shared/status';

interface RulesConfig extends NodeDef {
    rulesFile: string;
}

/** How often the rules file is checked for changes, in milliseconds. */
const WATCH_INTERVAL_MS = 1000;
const BADGE_LENGTH = 80;

function eventMessages(events: AlertEvent[]): NodeMessage[] {
    return events.map((event) => ({ topic: event.asset_id, payload: event }) as NodeMessage);
}

export default function register(RED: NodeAPI): void {
    function RulesNode(this: Node, config: RulesConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        const configured = (config.rulesFile || '').trim();
        if (!configured) {
            node.error(RED._('ul-rules.errors.missing-file'));
            setStatus(node, 'failed', RED._('ul-rules.status.not-configured'));
            return;
        }
        const path = resolveRulesPath(configured);
        const source = `rules:${node.name || node.id}`;

        const context = runtimeContext(RED.settings);
        const listAssets = context.listAssets ?? (() => readAssetsFile(join(DATA_DIR, 'assets.json')));
        const registry = createAssetRegistry(listAssets, (err) => {
            node.warn(RED._('ul-rules.warnings.no-registry', { message: toError(err).message }));
        });

        let engine: RulesEngine | undefined;
        let fileProblem: string | undefined;
        // Without a store to rebuild from (at the edge), open alerts are saved under the data
        // folder, so that a restart keeps them instead of raising the same conditions again.
        const savedAlertsPath = !context.readingsBetween && context.dataDir ? join(context.dataDir, 'rules', `${node.id}.json`) : undefined;
        const saveAlerts = (): void => {
            if (!savedAlertsPath || !engine) return;
            try {
                writeSavedAlerts(savedAlertsPath, engine.openAlerts());
            } catch (err) {
                node.warn(RED._('ul-rules.warnings.save-failed', { path: savedAlertsPath, message: toError(err).message }));
            }
        };
        const status = throttledStatus(node);

        function showStatus(): void {
            if (fileProblem !== undefined) {
                const badge = fileProblem.length > BADGE_LENGTH ? `${fileProblem.slice(0, BADGE_LENGTH - 1)}…` : fileProblem;
                status('failed', badge);
            } else if (engine) {
                status('ok', RED._('ul-rules.status.open', { count: engine.openCount }));
            }
        }

        function load(): void {
            try {
                const ruleSet = loadRulesFile(path);
                fileProblem = undefined;
                if (!engine) {
                    engine = new RulesEngine(ruleSet, { assets: registry.lookup });
                    node.log(RED._('ul-rules.log.loaded', { count: ruleSet.rules.length, file: ruleSet.source }));
                    if (savedAlertsPath) {
                        try {
                            const saved = readSavedAlerts(savedAlertsPath);
                            engine.restore(saved);
                            if (saved.length > 0) node.log(RED._('ul-rules.log.restored', { count: saved.length, path: savedAlertsPath }));
                        } catch (err) {
                            node.warn(RED._('ul-rules.warnings.restore-failed', { path: savedAlertsPath, message: toError(err).message }));
                        }
                    }
                } else if (ruleSet.hash !== engine.rules.hash) {
                    const resolved = engine.replaceRules(ruleSet);
                    node.log(RED._('ul-rules.log.reloaded', { count: ruleSet.rules.length, file: ruleSet.source, resolved: resolved.length }));
                    if (resolved.length > 0) {
                        saveAlerts();
                        node.send([eventMessages(resolved), null]);
                    }
                    registry.refresh().catch((err: unknown) => node.warn(RED._('ul-rules.warnings.no-registry', { message: toError(err).message })));
                }
            } catch (err) {
                const problem = err instanceof RulesFileError ? err : toError(err);
                const badge = problem instanceof RulesFileError ? problem.badge : problem.message;
                // Each distinct problem is logged once; the watcher calls load again on every change.
                if (badge !== fileProblem) {
                    const key = engine ? 'ul-rules.errors.bad-file-kept' : 'ul-rules.errors.bad-file';
                    node.error(`${RED._(key)}\n${problem.message}`);
                }
                fileProblem = badge;
            }
            showStatus();
        }

        load();
        const stopWatching = watchRulesFile(
            path,
            () => {
                node.debug(RED._('ul-rules.log.changed'));
                load();
            },
            WATCH_INTERVAL_MS,
        );

        /**
         * Rebuilds the state of each asset of `readings` that this engine has not seen, from the
         * store's readings before the first of them, and returns the events that reconciling with
         * the stored alerts calls for. Without a store (at the edge) assets start with no state.
         */
        // NOTE: an asset whose partition moves away and later comes back keeps the state from
        // before the move, without the readings another runtime evaluated meanwhile.
        async function rebuildUnseen(current: RulesEngine, readings: Reading[]): Promise<AlertEvent[]> {
            const { readingsBetween, unresolvedEvents } = context;
            if (!readingsBetween || !unresolvedEvents) return [];
            const firstTimes = new Map<string, number>();
            for (const reading of readings) {
                if (current.knows(reading.asset_id)) continue;
                const ms = Date.parse(reading.ts);
                const earliest = firstTimes.get(reading.asset_id);
                if (Number.isFinite(ms) && (earliest === undefined || ms < earliest)) firstTimes.set(reading.asset_id, ms);
            }
            const events: AlertEvent[] = [];
            const lookbackMs = rulesLookbackMs(current.rules.rules);
            for (const [assetId, firstMs] of firstTimes) {
                try {
                    const [history, stored] = await Promise.all([
                        readingsBetween(assetId, new Date(firstMs - lookbackMs).toISOString(), new Date(firstMs).toISOString()),
                        unresolvedEvents(assetId),
                    ]);
                    events.push(...current.rebuild(assetId, history, stored));
                    node.debug(RED._('ul-rules.log.rebuilt', { asset: assetId, readings: history.length, alerts: stored.length }));
                } catch (err) {
                    // The asset starts without history; its rules fill their windows from live readings.
                    current.rebuild(assetId, [], []);
                    node.warn(RED._('ul-rules.warnings.no-history', { asset: assetId, message: toError(err).message }));
                }
            }
            return events;
        }

        // Messages are handled one after another, so the first batches also wait for the registry.
        let queue: Promise<void> = registry.ready;

        node.on('input', (msg, send, done) => {
            queue = queue.then(async () => {
                try {
                    const { readings, rejections } = checkReadings(msg.payload, source);
                    const rebuilt = engine ? await rebuildUnseen(engine, readings) : [];
                    const events = engine ? [...rebuilt, ...engine.process(readings)] : [];
                    if (events.length > 0) saveAlerts();
                    const rejected = rejections.length > 0 ? carryDelivery(msg, { topic: msg.topic, payload: rejections } as NodeMessage) : null;
                    if (events.length > 0 || rejected) send([eventMessages(events).map((out) => carryDelivery(msg, out)), rejected]);
                    showStatus();
                    done();
                } catch (err) {
                    status('failed', RED._('ul-rules.status.failed'));
                    done(toError(err));
                }
            });
        });

        node.on('close', (_removed: boolean, done: () => void) => {
            stopWatching();
            done();
        });
    }

    RED.nodes.registerType('ul-rules', RulesNode);
}

// Evaluates the rules of a YAML file on clean readings and emits alert events as rules open and
// clear. The file is reloaded when it changes; a file with problems keeps the running rules.
import { join } from 'node:path';

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { carryDelivery, originOf } from '../../lib/bus/delivery';
import { toError } from '../../lib/errors';
import { DATA_DIR } from '../../lib/paths';
import { RulesEngine } from '../../lib/rules/engine';
import { checkReadings } from '../../lib/reading-input';
import { RulesFileError, loadRulesFile, resolveRulesPath } from '../../lib/rules/load';
import { AssetRebuilder, RebuildSummary, type RebuildTotals } from '../../lib/rules/rebuild';
import { readSavedAlerts, writeSavedAlerts } from '../../lib/rules/saved-alerts';
import { createAssetRegistry, readAssetsFile } from '../../lib/rules/registry';
import { watchRulesFile } from '../../lib/rules/watch';
import { runtimeContext } from '../../lib/runtime-context';
import type { AlertEvent } from '../../lib/types';
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

/** Failed rebuilds per summary interval that get a warning of their own. */
const FAILED_REBUILDS_NAMED = 10;

export default function register(RED: NodeAPI): void {
    function summaryText(totals: RebuildTotals): string {
        const lines = [RED._('ul-rules.log.rebuilt-summary', {
            assets: totals.assets,
            readings: totals.readings,
            alerts: totals.alerts,
            events: totals.events,
            seconds: (totals.durationMs / 1000).toFixed(1),
        })];
        if (totals.returned > 0) lines.push(RED._('ul-rules.log.rebuilt-returned', { count: totals.returned }));
        if (totals.failed > 0) lines.push(RED._('ul-rules.log.rebuilt-failed', { count: totals.failed }));
        return lines.join(' ');
    }

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
                status('ok', () => RED._('ul-rules.status.open', { count: engine?.openCount ?? 0 }));
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

        // In the cloud, an asset's state is rebuilt from the store on first sight and whenever its
        // bus partition comes back after another runtime owned it. Without a store (at the edge)
        // assets start with no state.
        const { readingsBetween, unresolvedEvents } = context;
        const historySource = readingsBetween && unresolvedEvents ? { readingsBetween, unresolvedEvents } : undefined;
        // Rebuilds are logged as one summary per REBUILD_SUMMARY_INTERVAL_MS (10 s), because the
        // first sight of thousands of assets would otherwise log a line each. No per-asset line even
        // at trace level: Node-RED captures a stack for every log call, filtered or not, and that
        // cost the first minute of a 5,000-well start several percent of its CPU. Each failed
        // rebuild still gets its own warning.
        const summary = new RebuildSummary((totals) => node.log(summaryText(totals)));
        const rebuilder = new AssetRebuilder(historySource, {
            rebuilt: (rebuild) => summary.rebuilt(rebuild),
            returned: () => summary.returned(),
            // A store outage at first sight would fail every asset: the first ten of each summary
            // interval are named, the summary counts the rest.
            failed: (asset, err) => {
                if (summary.failed() <= FAILED_REBUILDS_NAMED) node.warn(RED._('ul-rules.warnings.no-history', { asset, message: err.message }));
            },
        });

        // Messages are handled one after another, so the first batches also wait for the registry.
        let queue: Promise<void> = registry.ready;

        node.on('input', (msg, send, done) => {
            queue = queue.then(async () => {
                try {
                    const { readings, rejections } = checkReadings(msg.payload, source);
                    const rebuilt = engine ? await rebuilder.prepare(engine, readings, originOf(msg)?.epoch) : [];
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
            summary.flush();
            done();
        });
    }

    RED.nodes.registerType('ul-rules', RulesNode);
}

// Cleanses readings: schema check, canonical units, timestamp and asset checks, quality flags and
// duplicate suppression. Clean readings leave on output 1, one message per input message, and rejected
// readings leave on output 2 as Rejection[] for the quarantine.
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';

import { toError } from '../../lib/errors';
import { loadAssetRegistry, watchRegistryFile, type AssetIndex } from '../../lib/normalize/asset-registry';
import { deviceScopeFrom, normalize } from '../../lib/normalize/normalize';
import { RecentKeys } from '../../lib/normalize/recent-keys';
import { parseNormalizeSettings, type NormalizeNodeConfig, type NormalizeSettings } from '../../lib/normalize/settings';
import { compileSchema } from '../../lib/schemas';
import { setStatus, throttledStatus } from '../shared/status';

type NormalizeConfig = NodeDef & NormalizeNodeConfig;

/** How often the asset registry file is checked for changes. */
const REGISTRY_POLL_MS = 1000;

export default function register(RED: NodeAPI): void {
    function NormalizeNode(this: Node, config: NormalizeConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let settings: NormalizeSettings;
        let assets: AssetIndex | undefined;
        try {
            settings = parseNormalizeSettings(config);
            // Compiling here reports a missing or broken schema file at deploy, not per message.
            compileSchema('telemetry');
            if (settings.assetsPath) assets = loadAssetRegistry(settings.assetsPath);
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-normalize.status.not-configured'));
            return;
        }

        const assetsPath = settings.assetsPath;
        const stopWatching = assetsPath
            ? watchRegistryFile(assetsPath, REGISTRY_POLL_MS, () => {
                  try {
                      assets = loadAssetRegistry(assetsPath);
                      node.log(RED._('ul-normalize.log.registry-reloaded', { count: assets.size, file: assetsPath }));
                  } catch (err) {
                      node.warn(RED._('ul-normalize.log.registry-kept', { error: toError(err).message }));
                  }
              })
            : undefined;

        const seen = new RecentKeys(settings.dedupSize);
        const totals = { clean: 0, rejected: 0, duplicates: 0 };
        const status = throttledStatus(node);
        setStatus(node, 'ok', assets ? RED._('ul-normalize.status.assets', { count: assets.size }) : '');

        node.on('input', (msg: NodeMessageInFlow, send, done) => {
            try {
                const input = msg as NodeMessageInFlow & { source?: unknown; ref?: unknown; device?: unknown };
                const device = deviceScopeFrom(input.device);
                if (input.device !== undefined && !device) {
                    setStatus(node, 'failed', RED._('ul-normalize.status.bad-device'));
                    done(new Error(RED._('ul-normalize.errors.bad-device')));
                    return;
                }

                const items = Array.isArray(msg.payload) ? (msg.payload as unknown[]) : [msg.payload];
                const result = normalize(items, {
                    source: typeof input.source === 'string' && input.source ? input.source : `node:${node.id}`,
                    ref: typeof input.ref === 'string' || typeof input.ref === 'number' ? String(input.ref) : undefined,
                    maxFutureMs: settings.maxFutureMs,
                    maxAgeMs: settings.maxAgeMs,
                    assets,
                    device,
                    seen,
                });

                // Clean readings of all assets leave in one message, in input order. msg.topic names
                // the asset when there is only one, as a single well's message would have it.
                let cleanMessage: (NodeMessage & { flagged?: unknown }) | null = null;
                let rejectedMessage: NodeMessage | null = null;
                if (result.rejected.length > 0) {
                    const { payload: _payload, ...rest } = msg;
                    rejectedMessage = RED.util.cloneMessage(rest);
                    rejectedMessage.payload = result.rejected;
                }
                if (result.clean.length > 0) {
                    cleanMessage = msg;
                    const first = result.clean[0].asset_id;
                    if (result.clean.every((reading) => reading.asset_id === first)) cleanMessage.topic = first;
                    cleanMessage.payload = result.clean;
                    if (result.flagged.length > 0) cleanMessage.flagged = result.flagged;
                }
                send([cleanMessage, rejectedMessage]);

                totals.clean += result.clean.length;
                totals.rejected += result.rejected.length;
                totals.duplicates += result.duplicates;
                status('ok', () => RED._('ul-normalize.status.counts', totals));
                done();
            } catch (err) {
                setStatus(node, 'failed', RED._('ul-normalize.status.failed'));
                done(toError(err));
            }
        });

        node.on('close', (_removed: boolean, done: () => void) => {
            stopWatching?.();
            seen.clear();
            done();
        });
    }

    RED.nodes.registerType('ul-normalize', NormalizeNode);
}

// Cleanses readings: schema check, canonical units, timestamp and asset checks, quality flags and
// duplicate suppression. Clean readings leave on output 1, one message per asset, and rejected
// readings leave on output 2 as Rejection[] for the quarantine.
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';

import { toError } from '../../lib/errors';
import { loadAssetRegistry, watchRegistryFile, type AssetIndex } from '../../lib/normalize/asset-registry';
import { deviceScopeFrom, groupByAsset, normalize } from '../../lib/normalize/normalize';
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

                // The other properties of the input message (such as _msgid) are copied, and payload is replaced.
                const { payload: _payload, ...rest } = msg;
                const cleanMessages: NodeMessage[] = [];
                for (const [assetId, readings] of groupByAsset(result.clean)) {
                    const out: NodeMessage & { flagged?: unknown } = RED.util.cloneMessage(rest);
                    out.topic = assetId;
                    out.payload = readings;
                    const flagged = result.flagged.filter((note) => note.asset_id === assetId);
                    if (flagged.length > 0) out.flagged = flagged;
                    cleanMessages.push(out);
                }
                let rejectedMessage: NodeMessage | null = null;
                if (result.rejected.length > 0) {
                    rejectedMessage = RED.util.cloneMessage(rest);
                    rejectedMessage.payload = result.rejected;
                }
                send([cleanMessages.length > 0 ? cleanMessages : null, rejectedMessage]);

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

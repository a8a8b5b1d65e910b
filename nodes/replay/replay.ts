// Plays a sensor CSV file in the 3W layout as a stream of row messages, in source time scaled by a
// speed factor. Commands on the input start, stop, pause and resume playback.
import { basename } from 'node:path';

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { toError } from '../../lib/errors';
import { DATA_DIR } from '../../lib/paths';
import { parseReplayConfig, type RawReplayConfig, type ReplayNodeSettings } from '../../lib/replay/config';
import { ReplayPlayer, type ReplayProgress } from '../../lib/replay/player';
import { rowErrorToRejection } from '../../lib/replay/reader';
import { setStatus, throttledStatus } from '../shared/status';

type ReplayConfig = NodeDef & RawReplayConfig;

const COMMANDS = ['start', 'stop', 'pause', 'resume'] as const;
type Command = (typeof COMMANDS)[number];

export default function register(RED: NodeAPI): void {
    function ReplayNode(this: Node, config: ReplayConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let settings: ReplayNodeSettings;
        try {
            settings = parseReplayConfig(config, DATA_DIR);
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-replay.status.not-configured'));
            return;
        }

        const file = basename(settings.path);
        const source = `replay:${file}`;
        const status = throttledStatus(node);
        const progressText = (progress: ReplayProgress) =>
            RED._('ul-replay.status.row', { index: progress.index, total: progress.total });

        const player = new ReplayPlayer(settings, {
            row(row, ts, progress) {
                const payload = { ts: new Date(ts).toISOString(), values: row.values, label: row.label, row: row.row, source_ts: row.source_ts };
                node.send([{ topic: file, payload } as NodeMessage, null, null]);
                status('ok', progressText(progress));
            },
            rejected(error, progress) {
                node.send([null, null, { topic: file, payload: [rowErrorToRejection(error, source)] } as NodeMessage]);
                status('ok', progressText(progress));
            },
            end(summary) {
                node.send([null, { topic: file, payload: summary } as NodeMessage, null]);
                status('ok', RED._('ul-replay.status.finished', { rows: summary.rows }));
            },
            error(err) {
                node.error(RED._('ul-replay.errors.playback-failed', { file: settings.path, error: err.message }));
                status('failed', RED._('ul-replay.status.failed'));
            },
        });

        const start = (): Promise<void> => {
            status('busy', RED._('ul-replay.status.starting'));
            return player.start();
        };

        if (settings.autostart) {
            start().catch((err: unknown) => {
                node.error(RED._('ul-replay.errors.start-failed', { file: settings.path, error: toError(err).message }));
                status('failed', RED._('ul-replay.status.failed'));
            });
        } else {
            status('disabled', RED._('ul-replay.status.stopped'));
        }

        node.on('input', (msg, _send, done) => {
            const command = typeof msg.payload === 'string' ? msg.payload.trim().toLowerCase() : '';
            if (!(COMMANDS as readonly string[]).includes(command)) {
                status('failed', RED._('ul-replay.status.bad-command'));
                done(new Error(RED._('ul-replay.errors.bad-command', { command: String(msg.payload) })));
                return;
            }
            switch (command as Command) {
                case 'start':
                    start().then(
                        () => done(),
                        (err: unknown) => {
                            status('failed', RED._('ul-replay.status.failed'));
                            done(toError(err));
                        },
                    );
                    return;
                case 'stop':
                    player.stop().then(
                        () => {
                            status('disabled', RED._('ul-replay.status.stopped'));
                            done();
                        },
                        (err: unknown) => done(toError(err)),
                    );
                    return;
                case 'pause':
                    player.pause();
                    if (player.state === 'paused') status('busy', RED._('ul-replay.status.paused'));
                    done();
                    return;
                case 'resume':
                    player.resume();
                    done();
                    return;
            }
        });

        node.on('close', (_removed: boolean, done: () => void) => {
            player.stop().then(done, done);
        });
    }

    RED.nodes.registerType('ul-replay', ReplayNode);
}

// Plays a sensor CSV file in the 3W layout as a stream of row messages, in source time scaled by a
// speed factor. Commands on the input start, stop, pause and resume playback.
import { basename, join } from 'node:path';

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { toError } from '../../lib/errors';
import { DATA_DIR } from '../../lib/paths';
import { parseReplayConfig, type RawReplayConfig, type ReplayNodeSettings } from '../../lib/replay/config';
import { ReplayPlayer, type ReplayCheckpoint, type ReplayProgress } from '../../lib/replay/player';
import { rowErrorToRejection } from '../../lib/replay/reader';
import { readSavedReplay, removeSavedReplay, writeSavedReplay, type SavedReplay } from '../../lib/replay/checkpoint-file';
import { runtimeContext } from '../../lib/runtime-context';
import { setStatus, throttledStatus } from '../shared/status';

type ReplayConfig = NodeDef & RawReplayConfig;

const COMMANDS = ['start', 'stop', 'pause', 'resume'] as const;
/** Interval between two saves of the replay position, in milliseconds. */
const CHECKPOINT_INTERVAL_MS = 1000;
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

        // The position is saved under the runtime's data folder; a plain Node-RED has none, and
        // there every start plays the file from the top.
        const dataDir = runtimeContext(RED.settings).dataDir;
        const checkpointPath = dataDir ? join(dataDir, 'replay', `${node.id}.json`) : undefined;
        const identity = { file: settings.path, speed: settings.speed, timestamps: settings.timestamps };
        let finished = false;
        const saveCheckpoint = (checkpoint = player.checkpoint) => {
            if (!checkpointPath) return;
            const saved: SavedReplay = { ...identity, finished, checkpoint };
            try {
                writeSavedReplay(checkpointPath, saved);
            } catch (err) {
                node.warn(RED._('ul-replay.errors.checkpoint-failed', { path: checkpointPath, error: toError(err).message }));
            }
        };
        // The periodic save writes the position of the tick before, so that the saved position
        // never runs ahead of rows still on their way to the next node when the process is
        // killed. A restart plays those rows again, and the cloud keeps each reading once.
        let previousCheckpoint: ReplayCheckpoint | undefined;
        const checkpointTimer = setInterval(() => {
            const current = player.checkpoint;
            if (previousCheckpoint) saveCheckpoint(previousCheckpoint);
            previousCheckpoint = current;
        }, CHECKPOINT_INTERVAL_MS);

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
                if (!settings.loop) {
                    finished = true;
                    saveCheckpoint();
                }
                node.send([null, { topic: file, payload: summary } as NodeMessage, null]);
                status('ok', RED._('ul-replay.status.finished', { rows: summary.rows }));
            },
            error(err) {
                node.error(RED._('ul-replay.errors.playback-failed', { file: settings.path, error: err.message }));
                status('failed', RED._('ul-replay.status.failed'));
            },
        });

        const start = (resume = false): Promise<void> => {
            const saved = resume && checkpointPath ? readSavedReplay(checkpointPath, identity) : undefined;
            if (saved?.finished) {
                // The file was played to its end before the restart; playing it again would
                // write a second timeline over the stored one.
                finished = true;
                status('ok', RED._('ul-replay.status.already-finished'));
                return Promise.resolve();
            }
            finished = false;
            previousCheckpoint = undefined;
            status('busy', RED._('ul-replay.status.starting'));
            return player.start(saved?.checkpoint);
        };

        if (settings.autostart) {
            start(true).catch((err: unknown) => {
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
                            // An explicit stop ends this timeline; the next start begins a new one.
                            previousCheckpoint = undefined;
                            if (checkpointPath) removeSavedReplay(checkpointPath);
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

        node.on('close', (removed: boolean, done: () => void) => {
            clearInterval(checkpointTimer);
            if (checkpointPath && removed) removeSavedReplay(checkpointPath);
            else saveCheckpoint();
            player.stop().then(done, done);
        });
    }

    RED.nodes.registerType('ul-replay', ReplayNode);
}

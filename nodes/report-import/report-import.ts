// Imports daily production reports (CSV or XLSX in the Volve layout) from a watched folder or from
// messages: readings per accepted row, rejected rows for the quarantine, a summary per file.
import { existsSync, mkdirSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { toError } from '../../lib/errors';
import { PROJECT_ROOT } from '../../lib/paths';
import { ReportInbox, type InboxJob, type JobResult } from '../../lib/report/inbox';
import { dailyProductionRowValidator } from '../../lib/report/schema';
import { fileNameOf } from '../../lib/report/source';
import { runtimeContext } from '../../lib/runtime-context';
import { setStatus, throttledStatus } from '../shared/status';

interface ReportImportConfig extends NodeDef {
    watchDir: string;
    assetsFile: string;
    pollSeconds: number | string;
}

interface JobTag {
    send: (msg: Array<NodeMessage | null>) => void;
    /** Input message of a job handed in by message, absent for watched files. */
    msg?: NodeMessage;
}

const count = (n: number): string => n.toLocaleString('en-US');

export default function register(RED: NodeAPI): void {
    function ReportImportNode(this: Node, config: ReportImportConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        const baseDir = runtimeContext(RED.settings).dataDir ?? process.cwd();
        const watchDir = (config.watchDir || '').trim() ? resolve(baseDir, config.watchDir.trim()) : undefined;
        const assetsSetting = (config.assetsFile || '').trim() || 'data/assets.json';
        const assetsFile = isAbsolute(assetsSetting) ? assetsSetting : resolve(PROJECT_ROOT, assetsSetting);
        const pollSetting = config.pollSeconds === '' || config.pollSeconds === undefined ? 10 : config.pollSeconds;
        const pollSeconds = Number(pollSetting);

        let configError: string | undefined;
        if (!Number.isFinite(pollSeconds) || pollSeconds <= 0) {
            configError = RED._('ul-report-import.errors.bad-poll', { value: String(config.pollSeconds) });
        } else if (!existsSync(assetsFile)) {
            configError = RED._('ul-report-import.errors.missing-assets', { path: assetsFile });
        } else if (watchDir) {
            try {
                mkdirSync(watchDir, { recursive: true });
            } catch (err) {
                const error = toError(err).message;
                configError = RED._('ul-report-import.errors.bad-watch-dir', { path: watchDir, error });
            }
        }
        try {
            // Compiling the row schema here keeps the first import from pausing the event loop for it.
            dailyProductionRowValidator();
        } catch (err) {
            configError ??= toError(err).message;
        }
        if (configError) {
            node.error(configError);
            setStatus(node, 'failed', RED._('ul-report-import.status.not-configured'));
            return;
        }

        const progress = throttledStatus(node);
        const finished = (job: InboxJob<JobTag>, result: JobResult): void => {
            const { send, msg } = job.tag;
            if (result.status === 'aborted') return;
            if (result.status === 'failed') {
                progress('failed', RED._('ul-report-import.status.failed', { file: job.name }));
                if (result.rejection) {
                    send([null, { topic: result.rejection.source, payload: [result.rejection] }, null]);
                }
                // A message job reports through done(err) in the input handler. Watched files have no message.
                if (!msg) node.error(result.error.message, { filename: job.name, payload: result.rejection ?? null });
                return;
            }
            const summary = result.summary;
            const source = `report:${job.name}`;
            if (result.status === 'skipped') {
                progress('ok', RED._('ul-report-import.status.skipped', { file: job.name }));
                const first = summary.already_imported;
                node.warn(RED._('ul-report-import.log.skipped', { file: job.name, first: first?.file ?? '', at: first?.imported_at ?? '' }));
            } else {
                const counts = { accepted: count(summary.accepted_rows), rejected: count(summary.rejected_rows) };
                progress('ok', RED._('ul-report-import.status.done', counts));
                const codes = Object.entries(summary.by_code).map(([code, n]) => `${code} ${count(n)}`).join(', ');
                node.log(
                    RED._('ul-report-import.log.finished', {
                        file: job.name,
                        rows: count(summary.rows),
                        accepted: count(summary.accepted_rows),
                        rejected: count(summary.rejected_rows),
                        codes: codes || '-',
                        readings: count(summary.readings),
                        seconds: (summary.duration_ms / 1000).toFixed(1),
                    }),
                );
            }
            send([null, null, { ...(msg ?? {}), topic: source, payload: summary }]);
        };

        const inbox = new ReportInbox<JobTag>({
            watchDir,
            assetsFile,
            pollMs: pollSeconds * 1000,
            watchTag: { send: (msgs) => node.send(msgs) },
            events: {
                onStart: (job, info) => {
                    const rows = info.totalRows === undefined ? '?' : count(info.totalRows);
                    node.log(RED._('ul-report-import.log.started', { file: job.name, format: info.format, rows }));
                    progress('busy', RED._('ul-report-import.status.progress', { row: 0, total: rows }));
                },
                onAccepted: (job, row) => {
                    const readings: NodeMessage = {
                        topic: row.asset_id,
                        payload: row.readings,
                        source: `report:${job.name}`,
                        ref: String(row.ref),
                        day: row.day,
                        attributes: row.attributes,
                    };
                    job.tag.send([readings, null, null]);
                },
                onRejected: (job, rejections) => {
                    job.tag.send([null, { topic: `report:${job.name}`, payload: rejections }, null]);
                },
                onProgress: (_job, p) => {
                    const total = p.totalRows === undefined ? '?' : count(p.totalRows);
                    progress('busy', RED._('ul-report-import.status.progress', { row: count(p.rows), total }));
                },
                onDone: finished,
                onIgnored: (name) => node.warn(RED._('ul-report-import.warnings.ignored', { name, path: watchDir ?? '' })),
                onPollError: (error) => {
                    progress('failed', RED._('ul-report-import.status.watch-failed'));
                    const details = { path: watchDir ?? '', error: error.message };
                    node.error(RED._('ul-report-import.errors.watch-failed', details));
                },
            },
        });

        setStatus(node, 'ok', RED._(watchDir ? 'ul-report-import.status.watching' : 'ul-report-import.status.ready'));
        inbox.start();

        node.on('input', (msg, send, done) => {
            const input = msg as NodeMessage & { filename?: unknown; reimport?: unknown };
            const filename = typeof input.filename === 'string' ? input.filename.trim() : '';
            const name = fileNameOf(filename);
            if (!name) {
                progress('failed', RED._('ul-report-import.status.bad-input'));
                done(new Error(RED._('ul-report-import.errors.missing-filename')));
                return;
            }
            const tag: JobTag = { send: (msgs) => send(msgs), msg };
            const force = input.reimport === true;
            const job: InboxJob<JobTag> = Buffer.isBuffer(input.payload)
                ? { name, buffer: input.payload, origin: 'upload', force, tag }
                : { name: basename(filename), path: resolve(baseDir, filename), origin: 'file', force, tag };
            inbox.submit(job).then(
                (result) => (result.status === 'failed' ? done(result.error) : done()),
                (err: unknown) => done(toError(err)),
            );
        });

        node.on('close', (_removed: boolean, done: () => void) => {
            inbox.close().then(done, done);
        });
    }

    RED.nodes.registerType('ul-report-import', ReportImportNode);
}

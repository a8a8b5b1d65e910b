// Markdown tables of an evaluation: per-file scores, means per method and per event class, the
// settings and tuning choices behind them, and the targets.
import { formatDuration } from '../../rules/duration';
import type { AnomalySettings } from '../settings';
import type { EvaluationSettings, FileReport, MethodScore, Summary } from './evaluate';
import { summarise } from './evaluate';
import { meanOf } from './scores';
import type { TuningChoice } from './tune';

/** Targets of the evaluation. */
export const TARGETS = {
    balancedAccuracy: 0.9,
    falseAlertsPerDay: 1,
    /** Event classes that must be detected within `fastDelaySeconds` of the first transient second. */
    fastClasses: [2, 6],
    fastDelaySeconds: 120,
};

function table(header: string[], rows: string[][]): string {
    const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
    for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
    return lines.join('\n');
}

function fixed(value: number | undefined, digits = 2): string {
    return value === undefined ? '–' : value.toFixed(digits);
}

function delay(score: MethodScore | undefined): string {
    if (!score || score.delaySeconds === undefined) return '–';
    if (score.delaySeconds === null) return 'missed';
    return `${score.delaySeconds.toFixed(0)}${score.openAtEvent ? '*' : ''}`;
}

function scoreOf(report: FileReport, method: string): MethodScore | undefined {
    return report.methods.find((score) => score.method === method);
}

function fileLabel(report: FileReport): string {
    const notes: string[] = [];
    if (report.normalWindows === 0) notes.push('no normal windows');
    return notes.length > 0 ? `${report.name} (${notes.join(', ')})` : report.name;
}

/** Per-file tables of the event files and of the normal files. */
export function fileTables(reports: readonly FileReport[], methods: readonly string[]): string {
    const events = reports.filter((report) => report.eventClass !== 0);
    const normals = reports.filter((report) => report.eventClass === 0);
    const parts: string[] = [];
    if (events.length > 0) {
        const rows = events.map((report) => [
            fileLabel(report),
            String(report.eventClass),
            `${report.abnormalWindows}/${report.normalWindows}`,
            ...methods.map((method) => {
                const score = scoreOf(report, method);
                return `${fixed(score?.balancedAccuracy)} / ${fixed(score?.f1)} / ${delay(score)}`;
            }),
        ]);
        parts.push('Event files, each cell: balanced accuracy / F1 / delay in seconds.');
        parts.push(table(['file', 'class', 'windows abnormal/normal', ...methods], rows));
    }
    if (normals.length > 0) {
        const rows = normals.map((report) => [
            report.name,
            (report.scoredNormalRows / 3600).toFixed(2),
            ...methods.map((method) => {
                const score = scoreOf(report, method);
                return score ? `${score.falseAlerts} (${fixed(score.falseAlertsPerDay, 1)}/d), ${fixed(score.silenceRate)}` : '–';
            }),
        ]);
        parts.push('Normal files, each cell: false alerts (per well-day), correct-silence rate of the windows.');
        parts.push(table(['file', 'scored hours', ...methods], rows));
    }
    return parts.join('\n\n');
}

/** Means per method over the reports. */
export function summaryTable(summaries: readonly Summary[]): string {
    const rows = summaries.map((summary) => [
        summary.method,
        fixed(summary.balancedAccuracy),
        fixed(summary.f1),
        summary.delaySeconds === undefined ? '–' : summary.delaySeconds.toFixed(0),
        `${summary.missed}/${summary.eventFiles}`,
        fixed(summary.falseAlertsPerDay, 1),
    ]);
    return table(['method', 'mean balanced accuracy', 'mean F1', 'mean delay s', 'missed events', 'false alerts per well-day (normal files)'], rows);
}

/** Mean balanced accuracy per event class and method. */
export function classTable(reports: readonly FileReport[], methods: readonly string[]): string {
    const classes = [...new Set(reports.filter((report) => report.eventClass !== 0).map((report) => report.eventClass))].sort((a, b) => a - b);
    const rows = classes.map((eventClass) => {
        const members = reports.filter((report) => report.eventClass === eventClass);
        return [String(eventClass), String(members.length), ...methods.map((method) => fixed(meanOf(members.map((report) => scoreOf(report, method)?.balancedAccuracy))))];
    });
    return table(['class', 'files', ...methods], rows);
}

/** Whether each method meets the targets on the reports. */
export function targetTable(reports: readonly FileReport[], methods: readonly string[]): string {
    const summaries = summarise(reports, methods);
    const fast = reports.filter((report) => TARGETS.fastClasses.includes(report.eventClass));
    const rows = summaries.map((summary) => {
        const late = fast.filter((report) => {
            const seconds = scoreOf(report, summary.method)?.delaySeconds;
            return seconds === null || seconds === undefined || seconds > TARGETS.fastDelaySeconds;
        });
        const early = fast.filter((report) => scoreOf(report, summary.method)?.openAtEvent).length;
        const earlyNote = early > 0 ? ` (${early} by an alert opened before the event)` : '';
        const yes = (ok: boolean): string => (ok ? 'yes' : 'no');
        return [
            summary.method,
            `${fixed(summary.balancedAccuracy)} ${yes((summary.balancedAccuracy ?? 0) >= TARGETS.balancedAccuracy)}`,
            `${fixed(summary.falseAlertsPerDay, 1)} ${yes((summary.falseAlertsPerDay ?? 0) <= TARGETS.falseAlertsPerDay)}`,
            `${fast.length - late.length}/${fast.length} ${yes(late.length === 0)}${earlyNote}`,
        ];
    });
    return table(
        [
            'method',
            `mean balanced accuracy ≥ ${TARGETS.balancedAccuracy}`,
            `false alerts per well-day ≤ ${TARGETS.falseAlertsPerDay}`,
            `class ${TARGETS.fastClasses.join(' and ')} files with an alert within ${TARGETS.fastDelaySeconds} s`,
        ],
        rows,
    );
}

function describeSettings(settings: AnomalySettings): string {
    const parts = [`window ${formatDuration(settings.windowMs)}`, `threshold ${settings.threshold}`, `hold ${settings.hold}`, `clear after ${settings.clearHold} at ${settings.clearRatio}× threshold`];
    if (settings.detector === 'iforest') parts.push(`step ${formatDuration(settings.stepMs)}`, `margin ${settings.margin} floors`, `range share ${settings.rangeShare}`, `seed ${settings.seed}`);
    if (settings.detector === 'forecast') parts.push(`horizon ${settings.horizon} intervals`);
    if (settings.detector === 'band') parts.splice(0, 1);
    return parts.join(', ');
}

/** Formats the settings of every method. */
export function settingsTable(settings: EvaluationSettings): string {
    const rows = Object.entries(settings.detectors).map(([name, detector]) => [name, detector.detector, describeSettings(detector)]);
    if (settings.ensemble) rows.push(['ensemble', 'vote', `alert while at least ${settings.ensemble.quorum} of ${settings.ensemble.members.join(', ')} alert`]);
    if (settings.rules) rows.push(['rules', 'rule set', `${settings.rules.ruleSet.rules.length} rules from ${settings.rules.ruleSet.source}`]);
    return table(['method', 'kind', 'settings'], rows);
}

/** Formats the candidates of every tuned parameter and the chosen value. */
export function tuningTable(choices: readonly TuningChoice[]): string {
    const rows = choices.map((choice) => [
        choice.method,
        choice.parameter,
        choice.candidates.map((candidate) => `${candidate.value}: ${fixed(candidate.summary.balancedAccuracy)} / ${fixed(candidate.summary.falseAlertsPerDay, 1)}`).join('; '),
        String(choice.chosen),
    ]);
    return table(['method', 'parameter', 'candidates (value: mean balanced accuracy / false alerts per well-day)', 'chosen'], rows);
}

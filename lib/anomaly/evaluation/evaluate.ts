// Scores detectors, the rule set and an ensemble of detectors on labelled well files.
import type { AssetLookup, RuleSet } from '../../rules/types';
import { anomalySettings, type AnomalySettings } from '../settings';
import type { WellFile } from './dataset';
import { firstEventRow, learningRows, predictWindows, scoredWindows, voteTimelines, type ScoredWindow, type Timeline } from './protocol';
import { runDetector, runRules } from './run';
import { balancedAccuracy, confusion, detectionRate, f1Score, meanOf, silenceRate, type Confusion } from './scores';

/** Name of the rule set among the methods. */
export const RULES = 'rules';
/** Name of the ensemble among the methods. */
export const ENSEMBLE = 'ensemble';

const SECONDS_PER_DAY = 86_400;

export interface MethodScore {
    method: string;
    confusion: Confusion;
    balancedAccuracy?: number;
    f1?: number;
    detectionRate?: number;
    silenceRate?: number;
    /**
     * Seconds from the first transient second to the first second at or after it with an open
     * alert. It is null when no alert is open after it, and undefined for files without an event.
     */
    delaySeconds?: number | null;
    /** True when an alert opened before the first transient second was still open at it (delay 0). */
    openAtEvent: boolean;
    /** Alerts opened on normal (label 0) rows after the learning part. */
    falseAlerts: number;
    /** falseAlerts per day of scored normal rows; undefined without scored normal rows. */
    falseAlertsPerDay?: number;
}

export interface FileReport {
    name: string;
    assetId: string;
    eventClass: number;
    rows: number;
    learnRows: number;
    /** First transient row (or first event row), -1 for a normal file. */
    eventRow: number;
    abnormalWindows: number;
    normalWindows: number;
    /** Normal rows after the learning part; one row is one second in the 3W layout. */
    scoredNormalRows: number;
    methods: MethodScore[];
}

/** The ensemble: a vote of detectors, active when at least `quorum` of them have an open alert. */
export interface EnsembleSettings {
    members: string[];
    quorum: number;
}

export interface EvaluationSettings {
    /** Detector settings by method name, such as `mad` or `iforest-plain`. */
    detectors: Record<string, AnomalySettings>;
    ensemble?: EnsembleSettings;
    rules?: { ruleSet: RuleSet; assets: AssetLookup };
}

/**
 * Default methods: the three detectors, the isolation forest without its range check (to show
 * what the check adds), the fixed ±3σ band as the naive baseline, and an ensemble of the three.
 */
export function defaultEvaluationSettings(rules?: EvaluationSettings['rules']): EvaluationSettings {
    return {
        detectors: {
            mad: anomalySettings('mad'),
            iforest: anomalySettings('iforest'),
            'iforest-plain': anomalySettings('iforest', { margin: 0, rangeShare: 0, threshold: 0.65 }),
            forecast: anomalySettings('forecast'),
            band: anomalySettings('band'),
        },
        ensemble: { members: ['mad', 'iforest', 'forecast'], quorum: 1 },
        rules,
    };
}

/** Method names of the settings, in report order: detectors, then the ensemble, then the rules. */
export function methodNames(settings: EvaluationSettings): string[] {
    const names = Object.keys(settings.detectors);
    if (settings.ensemble) names.push(ENSEMBLE);
    if (settings.rules) names.push(RULES);
    return names;
}

/** Runs the methods on a file and returns each method's alert timeline. */
export function runMethods(file: WellFile, settings: EvaluationSettings, methods: readonly string[] = methodNames(settings)): Map<string, Timeline> {
    const learnRows = learningRows(file.labels);
    const timelines = new Map<string, Timeline>();
    const wanted = new Set(methods);
    const members = wanted.has(ENSEMBLE) && settings.ensemble ? settings.ensemble.members : [];
    for (const [name, detector] of Object.entries(settings.detectors)) {
        if (!wanted.has(name) && !members.includes(name)) continue;
        timelines.set(name, runDetector(file, detector, learnRows).timeline);
    }
    if (wanted.has(ENSEMBLE) && settings.ensemble) timelines.set(ENSEMBLE, ensembleTimeline(timelines, settings.ensemble));
    if (wanted.has(RULES) && settings.rules) timelines.set(RULES, runRules(file, settings.rules.ruleSet, settings.rules.assets).timeline);
    return timelines;
}

/** Votes the members' timelines; throws when a member has no timeline. */
export function ensembleTimeline(timelines: ReadonlyMap<string, Timeline>, ensemble: EnsembleSettings): Timeline {
    const members = ensemble.members.map((name) => {
        const timeline = timelines.get(name);
        if (!timeline) throw new RangeError(`The ensemble member "${name}" has no timeline; add it to the detectors.`);
        return timeline;
    });
    return voteTimelines(members, ensemble.quorum);
}

/** Scores one method's timeline on a file. */
export function scoreTimeline(method: string, file: WellFile, timeline: Timeline, windows: readonly ScoredWindow[], learnRows: number): MethodScore {
    const matrix = confusion(
        windows.map((window) => window.abnormal),
        predictWindows(timeline, windows),
    );
    const eventRow = firstEventRow(file.labels);
    let delaySeconds: number | null | undefined;
    let openAtEvent = false;
    if (eventRow >= 0) {
        const first = timeline.active.indexOf(1, eventRow);
        delaySeconds = first < 0 ? null : (file.times[first] - file.times[eventRow]) / 1000;
        openAtEvent = timeline.active[eventRow] === 1 && !timeline.openings.includes(eventRow);
    }
    const falseAlerts = timeline.openings.filter((row) => row >= learnRows && file.labels[row] === 0).length;
    const normalRows = scoredNormalRows(file, learnRows);
    return {
        method,
        confusion: matrix,
        balancedAccuracy: balancedAccuracy(matrix),
        f1: f1Score(matrix),
        detectionRate: detectionRate(matrix),
        silenceRate: silenceRate(matrix),
        delaySeconds,
        openAtEvent,
        falseAlerts,
        falseAlertsPerDay: normalRows > 0 ? (falseAlerts * SECONDS_PER_DAY) / normalRows : undefined,
    };
}

function scoredNormalRows(file: WellFile, learnRows: number): number {
    let count = 0;
    for (let row = learnRows; row < file.labels.length; row++) if (file.labels[row] === 0) count++;
    return count;
}

/** Scores the timelines of a file. */
export function reportFile(file: WellFile, timelines: ReadonlyMap<string, Timeline>): FileReport {
    const learnRows = learningRows(file.labels);
    const windows = scoredWindows(file.times, file.labels, learnRows);
    return {
        name: file.name,
        assetId: file.assetId,
        eventClass: file.eventClass,
        rows: file.times.length,
        learnRows,
        eventRow: firstEventRow(file.labels),
        abnormalWindows: windows.filter((window) => window.abnormal).length,
        normalWindows: windows.filter((window) => !window.abnormal).length,
        scoredNormalRows: scoredNormalRows(file, learnRows),
        methods: [...timelines].map(([method, timeline]) => scoreTimeline(method, file, timeline, windows, learnRows)),
    };
}

/** Runs and scores the methods on one file. */
export function evaluateFile(file: WellFile, settings: EvaluationSettings, methods: readonly string[] = methodNames(settings)): FileReport {
    const timelines = runMethods(file, settings, methods);
    const ordered = new Map(methods.filter((method) => timelines.has(method)).map((method) => [method, timelines.get(method) as Timeline]));
    return reportFile(file, ordered);
}

export interface Summary {
    method: string;
    /** Mean balanced accuracy over event files. */
    balancedAccuracy?: number;
    f1?: number;
    /** Mean delay over event files with a detection, seconds. */
    delaySeconds?: number;
    /** Event files without an open alert at or after the first transient second. */
    missed: number;
    eventFiles: number;
    /** False alerts per well-day over all normal files together. */
    falseAlertsPerDay?: number;
    normalFiles: number;
}

/** Summarises reports per method: means over event files and pooled false alerts over normal files. */
export function summarise(reports: readonly FileReport[], methods: readonly string[]): Summary[] {
    const events = reports.filter((report) => report.eventClass !== 0);
    const normals = reports.filter((report) => report.eventClass === 0);
    return methods.map((method) => {
        const of = (report: FileReport): MethodScore | undefined => report.methods.find((score) => score.method === method);
        const eventScores = events.map(of).filter((score): score is MethodScore => score !== undefined);
        const normalScores = normals.map(of).filter((score): score is MethodScore => score !== undefined);
        const normalRows = normals.reduce((sum, report) => sum + (of(report) ? report.scoredNormalRows : 0), 0);
        const falseAlerts = normalScores.reduce((sum, score) => sum + score.falseAlerts, 0);
        return {
            method,
            balancedAccuracy: meanOf(eventScores.map((score) => score.balancedAccuracy)),
            f1: meanOf(eventScores.map((score) => score.f1)),
            delaySeconds: meanOf(eventScores.map((score) => score.delaySeconds ?? undefined)),
            missed: eventScores.filter((score) => score.delaySeconds === null).length,
            eventFiles: eventScores.length,
            falseAlertsPerDay: normalRows > 0 ? (falseAlerts * SECONDS_PER_DAY) / normalRows : undefined,
            normalFiles: normalScores.length,
        };
    });
}

// Threshold tuning on a subset of the files. For each detector it picks a threshold with the best
// mean balanced accuracy over the tuning event files, among the thresholds that keep the tuning
// normal files within the false-alert limit. The quorum of the ensemble is picked the same way.
import type { WellFile } from './dataset';
import { ENSEMBLE, ensembleTimeline, reportFile, runMethods, summarise, type EvaluationSettings, type Summary } from './evaluate';
import type { Timeline } from './protocol';

/** Candidate thresholds per detector kind. */
export const THRESHOLD_GRID: Record<string, number[]> = {
    mad: [5, 6, 8, 10, 12, 15],
    iforest: [0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9],
    forecast: [4, 5, 6, 8, 10, 12],
};

/** False alerts per well-day allowed on the tuning normal files. */
export const MAX_FALSE_ALERTS_PER_DAY = 1;

export interface Candidate {
    /** Threshold, or quorum for the ensemble. */
    value: number;
    summary: Summary;
}

export interface TuningChoice {
    method: string;
    /** Tuned parameter: the detector threshold or the ensemble quorum. */
    parameter: 'threshold' | 'quorum';
    chosen: number;
    candidates: Candidate[];
}

/** Mean balanced accuracies closer than this count as equal; it is about the noise of a mean over a few files. */
export const ACCURACY_TOLERANCE = 0.005;

function withinLimit(candidate: Candidate): boolean {
    return (candidate.summary.falseAlertsPerDay ?? 0) <= MAX_FALSE_ALERTS_PER_DAY;
}

/**
 * Chooses among candidates ordered by value. Candidates within the false-alert limit are preferred
 * (when none is, those with the fewest false alerts). Among them, those within ACCURACY_TOLERANCE
 * of the best mean balanced accuracy form a plateau, and the middle of the plateau is chosen (the
 * upper middle for an even count), the value furthest from both edges of the equally good range.
 */
export function choose(candidates: readonly Candidate[]): Candidate {
    if (candidates.length === 0) throw new RangeError('There is no candidate to choose from.');
    let pool = candidates.filter(withinLimit);
    if (pool.length === 0) {
        const fewest = Math.min(...candidates.map((candidate) => candidate.summary.falseAlertsPerDay ?? 0));
        pool = candidates.filter((candidate) => (candidate.summary.falseAlertsPerDay ?? 0) === fewest);
    }
    const best = Math.max(...pool.map((candidate) => candidate.summary.balancedAccuracy ?? 0));
    const plateau = pool.filter((candidate) => best - (candidate.summary.balancedAccuracy ?? 0) < ACCURACY_TOLERANCE);
    return plateau[plateau.length >> 1];
}

/**
 * Tunes the thresholds of the detectors whose kind has a grid, then the ensemble quorum, on
 * `files`. Returns new settings and the candidates tried. Detectors without a grid (the band
 * baseline) keep their settings.
 */
export function tune(files: readonly WellFile[], settings: EvaluationSettings, grid: Record<string, number[]> = THRESHOLD_GRID): { settings: EvaluationSettings; choices: TuningChoice[] } {
    const tuned: EvaluationSettings = { ...settings, detectors: { ...settings.detectors } };
    const choices: TuningChoice[] = [];

    for (const [name, detector] of Object.entries(settings.detectors)) {
        const values = grid[detector.detector];
        if (!values) continue;
        const candidates = values.map((threshold): Candidate => {
            const trial: EvaluationSettings = { detectors: { [name]: { ...detector, threshold } } };
            const reports = files.map((file) => reportFile(file, runMethods(file, trial, [name])));
            return { value: threshold, summary: summarise(reports, [name])[0] };
        });
        const chosen = choose(candidates).value;
        tuned.detectors[name] = { ...detector, threshold: chosen };
        choices.push({ method: name, parameter: 'threshold', chosen, candidates });
    }

    if (settings.ensemble) {
        const { members } = settings.ensemble;
        const memberTimelines = files.map((file) => runMethods(file, { detectors: tuned.detectors }, members));
        const candidates = members.map((_, index): Candidate => {
            const ensemble = { members, quorum: index + 1 };
            const reports = files.map((file, f) => {
                const timelines = new Map<string, Timeline>([[ENSEMBLE, ensembleTimeline(memberTimelines[f], ensemble)]]);
                return reportFile(file, timelines);
            });
            return { value: ensemble.quorum, summary: summarise(reports, [ENSEMBLE])[0] };
        });
        const chosen = choose(candidates).value;
        tuned.ensemble = { members, quorum: chosen };
        choices.push({ method: ENSEMBLE, parameter: 'quorum', chosen, candidates });
    }
    return { settings: tuned, choices };
}

// Scores of window predictions against window labels.

export interface Confusion {
    /** Abnormal windows predicted abnormal. */
    truePositive: number;
    /** Abnormal windows predicted normal. */
    falseNegative: number;
    /** Normal windows predicted normal. */
    trueNegative: number;
    /** Normal windows predicted abnormal. */
    falsePositive: number;
}

export function confusion(labels: readonly boolean[], predictions: readonly boolean[]): Confusion {
    if (labels.length !== predictions.length) throw new RangeError(`Got ${labels.length} labels but ${predictions.length} predictions.`);
    const result: Confusion = { truePositive: 0, falseNegative: 0, trueNegative: 0, falsePositive: 0 };
    labels.forEach((abnormal, index) => {
        const predicted = predictions[index];
        if (abnormal) {
            if (predicted) result.truePositive++;
            else result.falseNegative++;
        } else if (predicted) {
            result.falsePositive++;
        } else {
            result.trueNegative++;
        }
    });
    return result;
}

/** Detection rate on abnormal windows (recall); undefined without abnormal windows. */
export function detectionRate(c: Confusion): number | undefined {
    const abnormal = c.truePositive + c.falseNegative;
    return abnormal === 0 ? undefined : c.truePositive / abnormal;
}

/** Correct-silence rate on normal windows (specificity); undefined without normal windows. */
export function silenceRate(c: Confusion): number | undefined {
    const normal = c.trueNegative + c.falsePositive;
    return normal === 0 ? undefined : c.trueNegative / normal;
}

/**
 * Mean of the detection rate and the correct-silence rate. With windows of one class only, it is
 * the rate of that class; undefined without windows.
 */
export function balancedAccuracy(c: Confusion): number | undefined {
    const rates = [detectionRate(c), silenceRate(c)].filter((rate): rate is number => rate !== undefined);
    if (rates.length === 0) return undefined;
    return rates.reduce((sum, rate) => sum + rate, 0) / rates.length;
}

/** F1 score of the abnormal class: 2·TP / (2·TP + FP + FN); undefined when all three are 0. */
export function f1Score(c: Confusion): number | undefined {
    const denominator = 2 * c.truePositive + c.falsePositive + c.falseNegative;
    return denominator === 0 ? undefined : (2 * c.truePositive) / denominator;
}

/** Mean of the defined values; undefined when none is defined. */
export function meanOf(values: readonly (number | undefined)[]): number | undefined {
    const defined = values.filter((value): value is number => value !== undefined && Number.isFinite(value));
    if (defined.length === 0) return undefined;
    return defined.reduce((sum, value) => sum + value, 0) / defined.length;
}

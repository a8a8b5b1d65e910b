// Holt's linear exponential smoothing with an optional damped trend:
//   forecast h steps ahead  ŷ(t+h) = ℓ(t) + (φ + φ² + … + φ^h)·b(t)
//   level                   ℓ(t) = α·y(t) + (1 − α)·(ℓ(t−1) + φ·b(t−1))
//   trend                   b(t) = β·(ℓ(t) − ℓ(t−1)) + (1 − β)·φ·b(t−1)
// φ = 1 is the classic undamped Holt model; φ < 1 flattens long forecasts.

export interface HoltParameters {
    /** Level smoothing, 0 < α ≤ 1. */
    alpha: number;
    /** Trend smoothing, 0 ≤ β ≤ 1. */
    beta: number;
    /** Trend damping, 0 < φ ≤ 1. */
    phi: number;
}

export interface HoltState {
    level: number;
    trend: number;
}

/** Returns ŷ h steps after the state: ℓ + (φ + … + φ^h)·b. */
export function holtForecast(parameters: HoltParameters, state: HoltState, steps: number): number {
    const { phi } = parameters;
    const damping = phi === 1 ? steps : (phi * (1 - phi ** steps)) / (1 - phi);
    return state.level + damping * state.trend;
}

/** Returns the state after observing `value`. */
export function holtUpdate(parameters: HoltParameters, state: HoltState, value: number): HoltState {
    const { alpha, beta, phi } = parameters;
    const level = alpha * value + (1 - alpha) * (state.level + phi * state.trend);
    const trend = beta * (level - state.level) + (1 - beta) * phi * state.trend;
    return { level, trend };
}

/** Starts the model on the first two values: level y₀, trend y₁ − y₀ (0 with a single value). */
export function holtInitial(series: readonly number[]): HoltState {
    if (series.length === 0) throw new RangeError('Holt smoothing needs at least one value to start from.');
    return { level: series[0], trend: series.length > 1 ? series[1] - series[0] : 0 };
}

export interface HoltRun {
    state: HoltState;
    /** Errors y(t) − ŷ(t) of the forecasts made `horizon` steps earlier, in series order. */
    residuals: number[];
}

/**
 * Runs the model over a series from holtInitial and collects the errors of the forecasts made
 * `horizon` steps ahead (1 = one-step-ahead errors). The first value only starts the model.
 */
export function holtRun(parameters: HoltParameters, series: readonly number[], horizon = 1): HoltRun {
    let state = holtInitial(series);
    const pending: number[] = [];
    const residuals: number[] = [];
    for (let t = 1; t < series.length; t++) {
        pending.push(holtForecast(parameters, state, horizon));
        if (pending.length === horizon) residuals.push(series[t] - (pending.shift() as number));
        state = holtUpdate(parameters, state, series[t]);
    }
    return { state, residuals };
}

/** Default search grid of the fit. */
export const HOLT_GRID = {
    alpha: [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9],
    beta: [0, 0.01, 0.05, 0.1, 0.2],
    phi: [0.8, 0.9, 0.98, 1],
};

export interface HoltFit {
    parameters: HoltParameters;
    state: HoltState;
    residuals: number[];
    /** Mean squared error of the residuals at the fitted parameters. */
    mse: number;
}

/**
 * Chooses α, β and φ from a grid by the least mean squared `horizon`-step forecast error over the
 * series, and returns the model state after the series. Needs at least horizon + 2 values.
 */
export function fitHolt(series: readonly number[], options: { horizon?: number; grid?: Partial<typeof HOLT_GRID> } = {}): HoltFit {
    const horizon = options.horizon ?? 1;
    if (series.length < horizon + 2) {
        throw new RangeError(`Fitting Holt smoothing ${horizon} step(s) ahead needs at least ${horizon + 2} values, got ${series.length}.`);
    }
    const grid = { ...HOLT_GRID, ...options.grid };
    let best: HoltFit | undefined;
    for (const alpha of grid.alpha) {
        for (const beta of grid.beta) {
            for (const phi of grid.phi) {
                const parameters = { alpha, beta, phi };
                const run = holtRun(parameters, series, horizon);
                let sum = 0;
                for (const residual of run.residuals) sum += residual * residual;
                const mse = sum / run.residuals.length;
                if (!best || mse < best.mse) best = { parameters, state: run.state, residuals: run.residuals, mse };
            }
        }
    }
    return best as HoltFit;
}

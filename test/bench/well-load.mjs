// Pieces shared by the benchmarks that simulate wells: the metrics each well reports and the
// parsing of whole-number options.

/** Metric, unit and base value of the 8 readings a simulated well reports each second. */
export const WELL_METRICS = [
    ['pressure_downhole', 'psi', 3000], ['pressure_tpt', 'psi', 2000], ['temp_tpt', 'degC', 80], ['pressure_upstream_choke', 'psi', 1500],
    ['temp_downstream_choke', 'degC', 60], ['pressure_gas_lift', 'psi', 2500], ['temp_gas_lift', 'degC', 40], ['gas_lift_rate', 'mmscfd', 3],
];

/**
 * Reads `--name N` options whose names are in `known`, each a whole number of 1 or more. Prints
 * `usage` for --help. Stops the process with a message naming the option for anything else.
 */
export function parseWholeNumberOptions(argv, known, usage) {
    const values = new Map();
    for (let index = 0; index < argv.length; index++) {
        const arg = argv[index];
        if (arg === '--help' || arg === '-h') {
            console.log(usage);
            process.exit(0);
        }
        const name = arg.startsWith('--') ? arg.slice(2) : undefined;
        if (!name || !known.includes(name)) {
            console.error(`Unknown option "${arg}"; run with --help for the list.`);
            process.exit(2);
        }
        const text = argv[++index];
        const value = Number(text);
        if (text === undefined || !Number.isInteger(value) || value < 1) {
            console.error(`Option --${name} needs a whole number of 1 or more, not ${text === undefined ? 'nothing' : `"${text}"`}.`);
            process.exit(2);
        }
        values.set(name, value);
    }
    return values;
}

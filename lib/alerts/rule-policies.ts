// Escalation policies of a rules file for the alert router, read again whenever the file changes.
import { toError } from '../errors';
import { RulesFileError, loadRulesFile } from '../rules/load';
import { watchRulesFile } from '../rules/watch';
import { rulePolicies, type EscalationPolicy } from './escalation';

export interface RulePolicySource {
    /** Returns the policies by rule id, as last read. */
    policies(): ReadonlyMap<string, EscalationPolicy>;
    stop(): void;
}

/**
 * Reads the escalation policies of the rules file at `path` and reads them again when the file
 * changes. A file with problems keeps the policies read before, and `onProblem` receives each
 * distinct problem once.
 */
export function watchRulePolicies(path: string, onProblem: (message: string) => void, intervalMs = 1_000): RulePolicySource {
    let current: ReadonlyMap<string, EscalationPolicy> = new Map();
    let lastProblem: string | undefined;

    function read(): void {
        try {
            current = rulePolicies(loadRulesFile(path).rules);
            lastProblem = undefined;
        } catch (err) {
            const message = err instanceof RulesFileError ? err.message : toError(err).message;
            if (message !== lastProblem) onProblem(message);
            lastProblem = message;
        }
    }

    read();
    const stop = watchRulesFile(path, read, intervalMs);
    return { policies: () => current, stop };
}

import { describe, expect, it } from 'vitest';

import { AlarmState } from './alarm';

describe('AlarmState', () => {
    it('should open after the hold and clear below the clear level', () => {
        const alarm = new AlarmState({ hold: 2, clearHold: 2, clearRatio: 0.5 });
        const transitions = [6, 4, 6, 6, 4, 2, 6, 2, 2].map((score) => alarm.update(score, 5));

        expect(transitions).toEqual([undefined, undefined, undefined, 'open', undefined, undefined, undefined, undefined, 'clear']);
        expect(alarm.open).toBe(false);
    });
});

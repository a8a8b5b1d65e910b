import { describe, expect, it } from 'vitest';

import { assetSetOf } from './asset-set';

describe('assetSetOf', () => {
    it('should build one set per list', () => {
        const assets = ['3w-well-00004', '3w-well-00007'];
        const set = assetSetOf(assets);

        expect(set.has('3w-well-00007')).toBe(true);
        expect(set.has('3w-well-00012')).toBe(false);
        expect(assetSetOf(assets)).toBe(set);
    });

    it('should build a new set for a reloaded list', () => {
        const before = assetSetOf(['3w-well-00004']);
        const after = assetSetOf(['3w-well-00004', '3w-well-00012']);

        expect(after).not.toBe(before);
        expect(after.has('3w-well-00012')).toBe(true);
    });
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
    test: {
        include: ['lib/**/*.test.ts', 'nodes/**/*.test.ts', 'dashboards/**/*.test.ts', 'runtime/**/*.test.ts', 'test/**/*.test.ts'],
        exclude: ['test/services/**', 'test/bench/**', 'node_modules/**', 'dist/**'],
        testTimeout: 30_000,
        hookTimeout: 60_000,
        pool: 'forks',
        fileParallelism: true,
    },
});

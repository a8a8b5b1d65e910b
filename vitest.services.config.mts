import { defineConfig } from 'vitest/config';

// The services test suite: the store on a real PostgreSQL server (npm run test:services).
// Start the server with `scripts/services.sh start` and export the UL_TEST_DATABASE_URL it prints.
export default defineConfig({
    test: {
        include: ['test/services/**/*.test.ts'],
        globalSetup: ['test/services/global-setup.ts'],
        testTimeout: 120_000,
        hookTimeout: 120_000,
        pool: 'forks',
        // One file at a time: the restart test stops the server that every other file uses.
        fileParallelism: false,
    },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every test file's temporary files (and those of the CLI processes they start) go under one
    // folder per run, removed when the run ends.
    globalSetup: ['./test/helpers/run-tmpdir.ts'],
  },
});

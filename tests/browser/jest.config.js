// Jest for the browser tests (tests/browser/*.browser.ts): run by
// TestAppInTheBrowser (world.go) with NETLENS_BROWSER_WORLD set, not by the
// unit-test config at the repository root.
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.browser.ts'],
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  setupFilesAfterEnv: ['<rootDir>/setup.ts'],
  // A bound for a hung test only: each step has its own, shorter timeout
  // (harness.ts) so that a slow one is named.
  testTimeout: 240000,
  maxWorkers: 1,
};

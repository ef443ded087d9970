/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  testMatch: ['**/test/**/*.test.ts'],
  testTimeout: 30000,
  setupFiles: ['<rootDir>/test/setup-env.js'],
  // `npm test` runs with --coverage: the service's code must stay covered (v8 coverage, no instrumentation)
  coverageProvider: 'v8',
  collectCoverageFrom: ['lib/**/*.ts', 'handlers/**/*.ts'],
  coverageReporters: ['text-summary', 'json-summary'],
  coverageThreshold: { global: { statements: 85, branches: 75, functions: 85, lines: 85 } },
};

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  testMatch: ['**/test/**/*.test.ts'],
  testTimeout: 30000,
  // most integration tests wait on the emulator's latency, leases and the SDK's back-off rather than compute:
  // three workers keep both cores busy (jest's default on a 2-core machine is one)
  maxWorkers: 3,
  setupFiles: ['<rootDir>/test/setup-env.js'],
  // `npm test` runs with --coverage: the service's code must stay covered (v8 coverage, no instrumentation)
  coverageProvider: 'v8',
  collectCoverageFrom: ['lib/**/*.ts', 'handlers/**/*.ts'],
  coverageReporters: ['text-summary', 'json-summary'],
  coverageThreshold: { global: { statements: 95, branches: 85, functions: 95, lines: 95 } },
};

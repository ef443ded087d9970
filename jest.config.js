/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  testMatch: ['**/test/**/*.test.ts'],
  testTimeout: 30000,
  setupFiles: ['<rootDir>/test/setup-env.js'],
};

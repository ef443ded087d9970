/**
 * `yaml`, loaded on its first use (rendering a snippet, reading a guardrails file) instead of at a cold start: a
 * module `require`d inside a function is evaluated by esbuild's bundle only when the function first runs.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const yamlLib = (): typeof import('yaml') => require('yaml');

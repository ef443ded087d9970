// The SDK warns that Node 20 support ends in 2027; the deployed runtime is nodejs22.x (serverless.yml).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// A passing test run prints no log lines: the service's structured logs are silent unless a test asks for them
// (POWERTOOLS_LOG_LEVEL=INFO npx jest … shows them while debugging).
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

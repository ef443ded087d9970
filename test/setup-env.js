// The SDK warns that Node 20 support ends in 2027; the deployed runtime is nodejs22.x (serverless.yml).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// A passing test run prints no log lines: the service's logger (whose level a warm invocation resets to the one it
// was built with) and its metrics (EMF goes to stdout) are silent unless a test asks for them
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

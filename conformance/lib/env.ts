/**
 * Imported first by every check, before the service's modules read their environment: the service's own request
 * logs (POWERTOOLS_LOG_LEVEL=INFO otherwise) would drown the checks' output, and the deployed runtime is nodejs22.x,
 * so the SDK's notice about Node 20 is noise here. Either can be set otherwise from outside.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

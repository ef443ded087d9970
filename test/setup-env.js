// The SDK warns that Node 20 support ends in 2027; the deployed runtime is nodejs22.x (serverless.yml).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

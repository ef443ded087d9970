import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs carrying the request id (handlers append it); the only logger handlers use. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 's3-onboarding' });

import { SnippetInputError } from './errors';

/** IAM role ARN: any partition, 12-digit account, role path and name of IAM's allowed characters. */
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,576}$/;
const ONBOARDING_ID = /^[a-z0-9-]+$/;
/** STS RoleSessionName: 2-64 of [\w+=,.@-]. */
const MAX_SESSION_NAME = 64;

export interface PbmAgentEnvInput {
  onboardingId: string;
  roleArn: string;
  instanceRoleArn: string;
}

/** `pbm-agent-<onboardingId>`, cut to STS's 64-character limit. */
export function pbmSessionName(onboardingId: string): string {
  return `pbm-agent-${onboardingId}`.slice(0, MAX_SESSION_NAME).replace(/-+$/, '');
}

function assertMatches(value: string, pattern: RegExp, path: string, what: string): void {
  if (!pattern.test(value)) throw new SnippetInputError(`${what} cannot be written to an environment file safely`, path);
}

/**
 * pbm-agent.env for pbm-agent on EC2: the instance profile's role assumes `AWS_ROLE_ARN` (PBM docs,
 * "Assume a role from an EC2 instance"). Values are unquoted, so they are checked against strict patterns:
 * anything that could break out of a line is refused.
 */
export function renderPbmAgentEnv(input: PbmAgentEnvInput): string {
  assertMatches(input.roleArn, ROLE_ARN, 'roleArn', 'roleArn');
  assertMatches(input.instanceRoleArn, ROLE_ARN, 'workload.instanceRoleArn', 'instanceRoleArn');
  assertMatches(input.onboardingId, ONBOARDING_ID, 'onboardingId', 'onboardingId');
  return [
    '# Environment for pbm-agent on EC2: add to /etc/sysconfig/pbm-agent (RHEL) or /etc/default/pbm-agent',
    '# (Debian, Ubuntu), then restart pbm-agent. No access keys: the instance role',
    `# ${input.instanceRoleArn}`,
    '# assumes the role below.',
    `AWS_ROLE_ARN=${input.roleArn}`,
    `AWS_SESSION_NAME=${pbmSessionName(input.onboardingId)}`,
    '',
  ].join('\n');
}

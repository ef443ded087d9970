import { SnippetInputError } from './errors';
import type { Tool } from './types';

/** IAM role ARN: any partition, 12-digit account, role path and name of IAM's allowed characters. */
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,576}$/;
const ONBOARDING_ID = /^[a-z0-9-]+$/;
/** STS RoleSessionName: 2-64 of [\w+=,.@-]. */
const MAX_SESSION_NAME = 64;

/** Where the instructions install the profile; one file may hold the profiles of several onboardings. */
const EC2_AWS_CONFIG_PATH = '/etc/s3-onboarding/aws-config';

export interface Ec2ProfileInput {
  onboardingId: string;
  tool: Tool;
  roleArn: string;
  instanceRoleArn: string;
}

const cut = (name: string): string => name.slice(0, MAX_SESSION_NAME).replace(/-+$/, '');

/** `pbm-agent-<onboardingId>`, cut to STS's 64-character limit. */
export function pbmSessionName(onboardingId: string): string {
  return cut(`pbm-agent-${onboardingId}`);
}

/** The session name the profile gives the assumed role: it shows in CloudTrail as the role session. */
function ec2SessionName(tool: Tool, onboardingId: string): string {
  return tool === 'pbm' ? pbmSessionName(onboardingId) : cut(`s3-onboarding-${onboardingId}`);
}

/** `s3-onboarding-<onboardingId>`: the profile in aws-config that AWS_PROFILE selects. */
const ec2ProfileName = (onboardingId: string): string => `s3-onboarding-${onboardingId}`;

function assertMatches(value: string, pattern: RegExp, path: string, what: string, where: string): void {
  if (!pattern.test(value)) throw new SnippetInputError(`${what} cannot be written to ${where} safely`, path);
}

function checkInput(input: Ec2ProfileInput, where: string): void {
  assertMatches(input.roleArn, ROLE_ARN, 'roleArn', 'roleArn', where);
  assertMatches(input.instanceRoleArn, ROLE_ARN, 'workload.instanceRoleArn', 'instanceRoleArn', where);
  assertMatches(input.onboardingId, ONBOARDING_ID, 'onboardingId', 'onboardingId', where);
}

const who = (tool: Tool): string => (tool === 'pbm' ? 'pbm-agent and the pbm CLI' : 'your tool');

/**
 * aws-config: an AWS shared-config profile that assumes the role with the instance role's credentials from
 * instance metadata. The SDKs read AWS_ROLE_ARN only together with a web-identity token file, so a profile with
 * `role_arn` + `credential_source = Ec2InstanceMetadata` is what makes an unmodified credential chain assume the
 * role (aws-sdk-go-v2 config/resolve_credentials.go, shared_config.go as vendored by
 * percona/percona-backup-mongodb@6f9fc3bf2e59e0754b7c9d3d9fa1c84b2f3aba45; the JS SDK's credential-provider-ini
 * does the same). Values are unquoted, so they are checked against strict patterns first.
 */
export function renderAwsConfig(input: Ec2ProfileInput): string {
  checkInput(input, 'an AWS config file');
  return [
    `# AWS shared config profile for ${who(input.tool)} on EC2. No secrets in it.`,
    `# Install as root: install -D -m 0644 aws-config ${EC2_AWS_CONFIG_PATH}`,
    '# (if that file already holds other s3-onboarding profiles, add this section to it instead).',
    ...(input.tool === 'pbm' ? ['# pbm-agent runs as user mongod, so the file must stay readable by it.'] : []),
    '# The instance role below gets its credentials from instance metadata and assumes role_arn:',
    `# ${input.instanceRoleArn}`,
    `[profile ${ec2ProfileName(input.onboardingId)}]`,
    `role_arn = ${input.roleArn}`,
    'credential_source = Ec2InstanceMetadata',
    `role_session_name = ${ec2SessionName(input.tool, input.onboardingId)}`,
    '',
  ].join('\n');
}

/**
 * pbm-agent.env: the two variables that select the aws-config profile (AWS_CONFIG_FILE, AWS_PROFILE). The same
 * file serves any tool on EC2 that uses an AWS SDK's default credential chain (`generic`).
 */
export function renderPbmAgentEnv(input: Ec2ProfileInput): string {
  checkInput(input, 'an environment file');
  const install =
    input.tool === 'pbm'
      ? [
          '# Environment for pbm-agent on EC2: selects the profile in aws-config (install that file first).',
          '# Append to /etc/sysconfig/pbm-agent (RHEL) or /etc/default/pbm-agent (Debian, Ubuntu), then run',
          '# systemctl restart pbm-agent. Export the same two variables in the shell that runs the pbm CLI:',
          '# describe-backup, describe-restore and restore-finish read the storage with its own credentials.',
        ]
      : [
          "# Environment for a tool on EC2 that uses an AWS SDK's default credential chain: selects the profile",
          '# in aws-config (install that file first). Add it to the service environment (systemd',
          '# EnvironmentFile=) and restart the service. Tools built on the AWS SDK for Go v1 also need',
          '# AWS_SDK_LOAD_CONFIG=1 to read AWS_CONFIG_FILE.',
        ];
  return [
    ...install,
    `# No access keys: the instance role ${input.instanceRoleArn}`,
    '# assumes the role named in the profile. Set no access keys, AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE',
    '# for this service: they take precedence over the profile.',
    ...(input.tool === 'pbm' ? ['# Keep storage.s3.credentials out of the PBM config for the same reason.'] : []),
    `AWS_CONFIG_FILE=${EC2_AWS_CONFIG_PATH}`,
    `AWS_PROFILE=${ec2ProfileName(input.onboardingId)}`,
    '',
  ].join('\n');
}

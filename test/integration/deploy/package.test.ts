import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../../..');
const run = promisify(execFile);

/** serverless.yml must keep packaging offline with the open-source framework (osls + serverless-esbuild). */
describe('serverless.yml', () => {
  const out = mkdtempSync(path.join(tmpdir(), 's3-onboarding-package-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('packages every function with osls, offline, into a CloudFormation template with the API role', async () => {
    await run(
      process.execPath,
      [path.join(ROOT, 'node_modules/osls/bin/serverless.js'), 'package', '--stage', 'ci', '--package', out],
      {
        cwd: ROOT,
        // telemetry and notifications would reach for the network, which CI does not have
        env: {
          ...process.env,
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
          SLS_DEPRECATION_DISABLE: '*',
        },
        timeout: 120_000,
      },
    );
    const files = readdirSync(out).sort();
    expect(files).toEqual(
      expect.arrayContaining(['health.zip', 'createOnboarding.zip', 'cloudformation-template-update-stack.json']),
    );
    const template = JSON.parse(readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
    const functions = Object.values(
      template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(2);
    for (const f of functions) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.Role).toEqual({ 'Fn::GetAtt': ['ApiRole', 'Arn'] });
    }
    expect(template.Resources.ApiRole.Properties.RoleName).toBe('s3-onboarding-api');
    // the guardrails file travels with every function (GUARDRAILS names it relative to the task root)
    const zip = readFileSync(path.join(out, 'createOnboarding.zip'));
    expect(zip.includes(Buffer.from('examples/guardrails.yaml'))).toBe(true);
    // every HTTP route requires SigV4 (API Gateway's IAM authorization)
    const routes = Object.values(
      template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    expect(routes.length).toBe(6);
    for (const r of routes) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
    // the API role may only assume provisioner roles and use its own table (no Scan: every access is by key or index)
    const statements = template.Resources.ApiRole.Properties.Policies[0].PolicyDocument.Statement as {
      Action: string | string[];
    }[];
    expect(statements.flatMap((s) => s.Action).sort()).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:DeleteItem',
        'dynamodb:DescribeStream',
        'dynamodb:GetItem',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sts:AssumeRole',
      ].sort(),
    );
    // the table's one index serves the list access patterns, as the local table has it
    const table = template.Resources.OnboardingsTable.Properties;
    expect(table.GlobalSecondaryIndexes.map((i: { IndexName: string }) => i.IndexName)).toEqual(['byKey']);
    // events: the table's stream feeds the stream function, which reports batch item failures; the sweep is scheduled
    expect(table.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    const mappings = Object.values(
      template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toEqual([
      expect.objectContaining({
        Properties: expect.objectContaining({
          EventSourceArn: { 'Fn::GetAtt': ['OnboardingsTable', 'StreamArn'] },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          StartingPosition: 'TRIM_HORIZON',
        }),
      }),
    ]);
    const rules = Object.values(
      template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(rules.map((r) => r.Properties.ScheduleExpression)).toEqual(['rate(1 hour)']);
    expect(template.Resources.FailedOnboardingsAlarm.Properties.MetricName).toBe('OnboardingsFailed');
    expect(template.Resources.SweepErrorsAlarm.Properties.Dimensions).toEqual([
      { Name: 'FunctionName', Value: 's3-onboarding-ci-sweep' },
    ]);
  }, 150_000);
});

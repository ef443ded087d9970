/**
 * Baseline: a handler that only imports and constructs the AWS SDK clients the real handlers use
 * (lib/aws/session.ts: STS, IAM, S3, EKS, KMS; lib/store/store.ts: DynamoDB with the document client),
 * bundled exactly like the real handlers.
 */
import { STSClient } from '@aws-sdk/client-sts';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { EKSClient } from '@aws-sdk/client-eks';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const clients = {
  sts: new STSClient({}),
  iam: new IAMClient({ region: 'us-east-1' }),
  s3: new S3Client({}),
  eks: new EKSClient({}),
  kms: new KMSClient({}),
  ddb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
};

export const handler = async (): Promise<{ statusCode: number; body: string }> => ({
  statusCode: 200,
  body: JSON.stringify(Object.keys(clients)),
});

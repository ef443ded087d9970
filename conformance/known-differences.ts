/**
 * Differences between the emulator and moto that the differential test found and that stay, each with its reason.
 * `side` says which of the two departs from AWS (per the AWS API reference and botocore's service models); the step
 * text is what emulator/README.md lists. The differential test fails on any difference not listed here, and on a
 * listed one that no longer shows.
 */
export interface KnownDifference {
  /** `service:Operation — label` of the step in conformance/scenarios.ts (emulator/README.md names it too) */
  step: string;
  /** the differences exactly as the differential test words them */
  differences: string[];
  side: 'moto' | 'emulator';
  reason: string;
  /** what emulator/README.md names it by, when not the step itself (a group of steps) */
  readme?: string;
}

/** moto 5 has no EKS Pod Identity or add-on API: its server answers every such call with an HTML 404. */
const POD_IDENTITY_README = 'EKS Pod Identity: every `eks:…PodIdentityAssociation` and `eks:DescribeAddon` step';
const podIdentity = (step: string, emulator: string): KnownDifference => ({
  step,
  differences: [`outcome: emulator ${emulator}, moto SyntaxError (404)`],
  side: 'moto',
  reason:
    'moto does not implement EKS Pod Identity or add-ons (its server answers an HTML 404, which SDK v3 reports as SyntaxError); botocore checks the emulator alone',
  readme: POD_IDENTITY_README,
});

export const KNOWN_DIFFERENCES: KnownDifference[] = [
  {
    step: "s3control:ListTagsForResource — an access point's tags (none yet)",
    differences: ['outcome: emulator ok, moto Error (404)'],
    side: 'moto',
    reason:
      "moto 5.2.1's S3 Control ListTagsForResource knows no access point ARN (it answers 404); AWS lists an access point's tags by its ARN (S3 Control API Reference, ListTagsForResource)",
  },
  {
    step: 'servicequotas:GetServiceQuota — roles per account (IAM: global, answered in us-east-1)',
    differences: ['outcome: emulator ok, moto NoSuchResource (400)'],
    side: 'moto',
    reason:
      "moto 5.2.1's Service Quotas knows only vpc's quotas and answers every other with NoSuchResourceException; AWS answers IAM's in us-east-1 (the service then uses AWS's default, so it works against moto)",
  },
  {
    step: 'iam:CreateRole — a trust that is not JSON',
    differences: ['outcome: emulator MalformedPolicyDocument (400), moto ok'],
    side: 'moto',
    reason: 'moto validates a trust policy on UpdateAssumeRolePolicy but not on CreateRole; IAM rejects it on both',
  },
  {
    step: 'iam:CreateRole — a trust over the size quota',
    differences: ['outcome: emulator LimitExceeded (409), moto ok'],
    side: 'moto',
    reason: 'moto does not enforce the trust policy size quota (ACLSizePerRole, 2,048 by default)',
  },
  {
    step: 'iam:UpdateAssumeRolePolicy — a trust over the size quota',
    differences: ['outcome: emulator LimitExceeded (409), moto ok'],
    side: 'moto',
    reason: 'as for CreateRole: moto has no trust policy size quota',
  },
  {
    step: 'iam:TagRole — more than 50 tags on the role (quota)',
    differences: ['outcome: emulator LimitExceeded (409), moto ok'],
    side: 'moto',
    reason: 'moto checks the 50 tags of one request, not the 50 tags a role may hold',
  },
  {
    step: 's3:GetBucketAbac — a bucket with ABAC on (the topology default)',
    differences: ['only in emulator: AbacStatus.Status (string)'],
    side: 'moto',
    reason:
      'moto 5.2.1 has no S3 ABAC: it answers GET /?abac as a bucket listing, which the SDK reads as an empty AbacStatus (the S3 API Reference: AbacStatus.Status Enabled | Disabled); the service runs against moto with S3_ABAC_CHECK=off',
  },
  {
    step: 'iam:GetPolicy — reads the boundary policy',
    differences: [
      'missing in emulator: Policy.Tags (list)',
      'only in emulator: Policy.PermissionsBoundaryUsageCount (number)',
    ],
    side: 'moto',
    reason:
      'moto answers an empty Tags list for an untagged policy (AWS leaves Tags out) and has no PermissionsBoundaryUsageCount (AWS returns it)',
  },
  {
    step: 'iam:CreateOpenIDConnectProvider — creates a provider as the service does (no thumbprint, tags)',
    differences: [
      'only in emulator: Tags (list)',
      'only in emulator: Tags[] (object)',
      'only in emulator: Tags[].Key (string)',
      'only in emulator: Tags[].Value (string)',
    ],
    side: 'moto',
    reason:
      "CreateOpenIDConnectProviderResponse carries the new provider's Tags (botocore's IAM model); moto answers only the ARN",
  },
  {
    step: 'sts:GetCallerIdentity — an account root',
    differences: [
      'value of Arn: emulator "arn:aws:iam::200000000002:root", moto "arn:aws:sts::200000000002:user/moto"',
    ],
    side: 'moto',
    reason:
      "moto has no account roots: a key it did not issue is its default user; AWS names a root's credentials arn:aws:iam::ACCOUNT:root",
  },
  {
    step: 's3:GetBucketLocation — another ExpectedBucketOwner',
    differences: ['outcome: emulator AccessDenied (403), moto ok'],
    side: 'moto',
    reason:
      'moto ignores ExpectedBucketOwner; S3 answers 403 AccessDenied when the bucket belongs to another account (the service relies on it)',
  },
  {
    step: 's3:PutBucketPolicy — a statement with no action',
    differences: ['outcome: emulator MalformedPolicy (400), moto ok'],
    side: 'moto',
    reason: 'moto stores bucket policies without validating them',
  },
  {
    step: 's3:ListObjects — version 1, with a delimiter',
    differences: [
      'only in emulator: Marker (string)',
      'only in emulator: Contents[].ChecksumAlgorithm (list)',
      'only in emulator: Contents[].ChecksumAlgorithm[] (string)',
      'value of Marker: emulator "", moto undefined',
    ],
    side: 'moto',
    reason:
      "S3's version-1 listing always carries Marker (empty on the first page) and each object's ChecksumAlgorithm, as version 2 does; moto leaves both out of version 1",
  },
  {
    step: 's3:ListObjects — version 1, URL-encoded',
    differences: [
      'only in emulator: Marker (string)',
      'only in emulator: Contents[].ChecksumAlgorithm (list)',
      'only in emulator: Contents[].ChecksumAlgorithm[] (string)',
    ],
    side: 'moto',
    reason: 'as above',
  },
  {
    step: 's3:CompleteMultipartUpload — completes it (a last part may be small)',
    differences: ['missing in emulator: VersionId (string)'],
    side: 'moto',
    reason: 'S3 returns a VersionId only for a bucket with versioning; moto returns one for every bucket',
  },
  {
    step: 'eks:DescribeCluster — a cluster with an OIDC issuer',
    differences: [
      'missing in emulator: cluster.clientRequestToken (string)',
      'missing in emulator: cluster.encryptionConfig (list)',
    ],
    side: 'emulator',
    reason:
      "clientRequestToken is the idempotency token the cluster's creator sent (the SDK makes one up when moto's cluster is seeded; the emulator's clusters are not created through an API); encryptionConfig appears only for clusters with envelope encryption, which moto answers as an empty list",
  },
  podIdentity('eks:DescribeAddon — the Pod Identity agent', 'ok'),
  podIdentity('eks:DescribeAddon — an add-on the cluster does not have', 'ResourceNotFound (404)'),
  podIdentity('eks:CreatePodIdentityAssociation — associates a service account with the role', 'ok'),
  podIdentity('eks:CreatePodIdentityAssociation — the same service account again', 'ResourceInUse (409)'),
  podIdentity('eks:ListPodIdentityAssociations — the associations of a namespace', 'ok'),
  podIdentity('eks:ListPodIdentityAssociations — a cluster that does not exist', 'ResourceNotFound (404)'),
  podIdentity('eks:DescribePodIdentityAssociation — the association', 'ok'),
  podIdentity('eks:DescribePodIdentityAssociation — an association that does not exist', 'ResourceNotFound (404)'),
  podIdentity('eks:UpdatePodIdentityAssociation — points it at the role again, with no target role', 'ok'),
  podIdentity('eks:DeletePodIdentityAssociation — deletes the association', 'ok'),
  podIdentity('eks:DeletePodIdentityAssociation — an association already deleted', 'ResourceNotFound (404)'),
  {
    step: 'kms:DescribeKey — a customer managed key by ARN',
    differences: [
      'missing in emulator: KeyMetadata.SigningAlgorithms (list)',
      'only in emulator: KeyMetadata.KeyUsage (string)',
      'only in emulator: KeyMetadata.MultiRegion (boolean)',
    ],
    side: 'moto',
    reason:
      'AWS lists SigningAlgorithms only for SIGN_VERIFY keys, and always returns KeyUsage (ENCRYPT_DECRYPT by default) and MultiRegion; moto answers the first for a symmetric key and leaves out the others when CreateKey did not name them',
  },
  {
    step: 'kms:GetKeyPolicy — reads the default policy',
    differences: ['only in emulator: PolicyName (string)'],
    side: 'moto',
    reason: "GetKeyPolicyResponse has Policy and PolicyName (botocore's KMS model); moto answers Policy only",
  },
  {
    step: 'kms:GetKeyPolicy — reads it back',
    differences: ['only in emulator: PolicyName (string)'],
    side: 'moto',
    reason: 'as above',
  },
  {
    step: 'kms:PutKeyPolicy — a policy that is not JSON',
    differences: ['outcome: emulator MalformedPolicyDocument (400), moto ok'],
    side: 'moto',
    reason: 'moto stores key policies without validating them; KMS answers MalformedPolicyDocumentException',
  },
  {
    step: 'dynamodb:UpdateItem — completes an idempotency key',
    differences: [
      'missing in emulator: ConsumedCapacity (object)',
      'missing in emulator: ConsumedCapacity.TableName (string)',
      'missing in emulator: ConsumedCapacity.CapacityUnits (number)',
    ],
    side: 'moto',
    reason:
      "DynamoDB returns ConsumedCapacity only when ReturnConsumedCapacity asks for it; moto always does on UpdateItem (dynalite, the local stack's DynamoDB, follows AWS)",
  },
  {
    step: 'dynamodb:BatchWriteItem — writes index items (puts and deletes)',
    differences: [
      'missing in emulator: ItemCollectionMetrics (object)',
      'missing in emulator: ConsumedCapacity (list)',
      'missing in emulator: ConsumedCapacity[] (object)',
      'missing in emulator: ConsumedCapacity[].TableName (string)',
      'missing in emulator: ConsumedCapacity[].CapacityUnits (number)',
      'missing in emulator: ConsumedCapacity[].Table (object)',
      'missing in emulator: ConsumedCapacity[].Table.CapacityUnits (number)',
    ],
    side: 'moto',
    reason:
      'ConsumedCapacity and ItemCollectionMetrics come back only when ReturnConsumedCapacity and ReturnItemCollectionMetrics ask for them; moto always answers them',
  },
  {
    step: 'dynamodb:BatchGetItem — reads records by key (consistent)',
    differences: [
      'missing in emulator: ConsumedCapacity (list)',
      'missing in emulator: ConsumedCapacity[] (object)',
      'missing in emulator: ConsumedCapacity[].TableName (string)',
      'missing in emulator: ConsumedCapacity[].CapacityUnits (number)',
    ],
    side: 'moto',
    reason: 'as for UpdateItem: ConsumedCapacity only when asked for',
  },
  {
    step: "kms:ListGrants — the key's grants",
    differences: [
      'only in emulator: Grants[].CreationDate (timestamp)',
      'only in emulator: Grants[].IssuingAccount (string)',
    ],
    side: 'moto',
    reason:
      "a GrantListEntry carries CreationDate and IssuingAccount (KMS API Reference, botocore's model); moto leaves both out",
  },
  {
    step: 'kms:ListGrants — a key that does not exist',
    differences: ['outcome: emulator NotFound (400), moto SyntaxError (500)'],
    side: 'moto',
    reason: 'moto fails with an internal error (an HTML 500) for a key it does not have; KMS answers NotFoundException',
  },
  {
    step: 'kms:RetireGrant — a grant already retired',
    differences: ['outcome: emulator NotFound (400), moto ok'],
    side: 'moto',
    reason:
      'moto retires a grant id it does not have silently (RevokeGrant it refuses with NotFoundException); the emulator answers NotFoundException for both, which is one of the errors the KMS API Reference lists for RetireGrant (not verified against AWS)',
  },
  {
    step: 'kms:CreateGrant — an operation that does not exist',
    differences: ['outcome: emulator Validation (400), moto ok'],
    side: 'moto',
    reason: "moto stores any operation name; Operations is an enum in KMS's model, so KMS answers ValidationException",
  },
  {
    step: 'kms:CreateGrant — a grantee that does not exist',
    differences: ['outcome: emulator InvalidArn (400), moto ok'],
    side: 'moto',
    reason:
      "moto does not check the grantee; KMS refuses a principal that does not exist (the emulator's code, InvalidArnException, is one KMS lists for CreateGrant; AWS's exact answer was not verified)",
  },
  {
    step: 's3control:CreateAccessPoint — on a bucket',
    differences: [
      'value of AccessPointArn: emulator "arn:aws:s3:eu-west-1:300000000003:accesspoint/diff-ap", moto "arn:aws:s3:us-east-1:300000000003:accesspoint/diff-ap"',
    ],
    side: 'moto',
    reason:
      "moto puts every access point's ARN in us-east-1; an access point lives in the Region it was created in (its bucket's), which its ARN names",
    readme: 's3control: every access point ARN',
  },
  {
    step: 's3control:GetAccessPoint — reads it',
    differences: [
      'only in emulator: BucketAccountId (string)',
      'value of AccessPointArn: emulator "arn:aws:s3:eu-west-1:300000000003:accesspoint/diff-ap", moto "arn:aws:s3:us-east-1:300000000003:accesspoint/diff-ap"',
    ],
    side: 'moto',
    reason: "moto has no BucketAccountId (S3 Control answers the bucket owner's account) and puts the ARN in us-east-1",
    readme: 's3control:GetAccessPoint / ListAccessPoints — BucketAccountId',
  },
  {
    step: "s3control:ListAccessPoints — a bucket's access points",
    differences: ['only in emulator: AccessPointList[].BucketAccountId (string)'],
    side: 'moto',
    reason: 'as for GetAccessPoint',
    readme: 's3control:GetAccessPoint / ListAccessPoints — BucketAccountId',
  },
  {
    step: 's3control:CreateAccessPoint — the same name again',
    differences: ['outcome: emulator AccessPointAlreadyOwnedByYou (409), moto ok'],
    side: 'moto',
    reason: 'moto replaces an access point of the same name; S3 answers AccessPointAlreadyOwnedByYou (409)',
  },
  {
    step: 's3control:DeleteAccessPoint — an access point already deleted',
    differences: ['outcome: emulator NoSuchAccessPoint (404), moto ok'],
    side: 'moto',
    reason:
      'moto deletes a missing access point silently (GetAccessPoint it answers NoSuchAccessPoint); S3 answers NoSuchAccessPoint',
  },
  {
    step: 's3control:PutAccessPointPolicy — a resource outside the access point',
    differences: ['outcome: emulator MalformedPolicy (400), moto ok'],
    side: 'moto',
    reason:
      "moto stores access point policies unvalidated; S3 refuses a resource that is not the access point's (MalformedPolicy, as for bucket policies)",
  },
  {
    step: 's3:ListObjectsV2 — through the access point alias',
    differences: ['outcome: emulator ok, moto NoSuchBucket (404)'],
    side: 'moto',
    reason: "moto's S3 does not resolve access point aliases; S3 takes an alias wherever a bucket name goes",
  },
  {
    step: 's3control:CreateAccessPoint — an invalid name (upper case)',
    differences: ['outcome: emulator InvalidRequest (400), moto ok'],
    side: 'moto',
    reason:
      "moto accepts any name; S3's naming rules refuse upper case (the emulator's code, InvalidRequest, was not verified against AWS)",
  },
  {
    step: 's3control:CreateAccessPoint — a bucket that does not exist',
    differences: ['outcome: emulator NoSuchBucket (404), moto ok'],
    side: 'moto',
    reason:
      'moto makes an access point for any bucket name; S3 needs the bucket to exist (NoSuchBucket; not verified against AWS)',
  },
];

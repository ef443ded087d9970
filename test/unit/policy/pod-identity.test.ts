import { validatePolicy } from '../../../lib/iam-policy/grammar';
import {
  chainGrant,
  desiredAssociations,
  podIdentityTrust,
  podRoleAccounts,
  podRoleTrust,
  type PodIdentityWho,
} from '../../../lib/policy/pod-identity';
import type { PolicyDocument } from '../../../lib/policy/types';

/** Golden documents of the EKS Pod Identity builders (lib/policy/pod-identity.ts), each valid IAM grammar. */

const demo = { name: 'demo', accountId: '200000000002', region: 'eu-west-1' };
const restore = { name: 'restore', accountId: '200000000002', region: 'eu-west-1' };
const dr = { name: 'dr', accountId: '400000000004', region: 'eu-central-1' };
const who = (roleAccount: string, clusters = [demo]): PodIdentityWho => ({
  roleArn: `arn:aws:iam::${roleAccount}:role/s3-onboarding/s3ob-0123456789abcdef`,
  roleAccount,
  clusters,
  namespace: 'mongodb',
  serviceAccounts: ['pbm-restore', 'pbm-agent'],
});
const valid = (d: PolicyDocument, kind: 'trust' | 'identity') => expect(validatePolicy(d, kind)).toBeNull();

describe('Function: podIdentityTrust', () => {
  it('same account: pods.eks.amazonaws.com may assume and tag, pinned to the clusters, the namespace and the service accounts', () => {
    const trust = podIdentityTrust(who('200000000002', [restore, demo]));
    expect(trust).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EksPodIdentity',
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: {
            StringEquals: {
              'aws:RequestTag/eks-cluster-arn': [
                'arn:aws:eks:eu-west-1:200000000002:cluster/demo',
                'arn:aws:eks:eu-west-1:200000000002:cluster/restore',
              ],
              'aws:RequestTag/kubernetes-namespace': 'mongodb',
              'aws:RequestTag/kubernetes-service-account': ['pbm-agent', 'pbm-restore'],
            },
          },
        },
      ],
    });
    valid(trust, 'trust');
  });

  it('role in the bucket account: no service principal, one statement per cluster account naming its association role by aws:PrincipalArn', () => {
    const trust = podIdentityTrust(who('300000000003', [dr, demo]));
    expect(trust.Statement).toEqual([
      {
        Sid: 'EksPodIdentityChain200000000002',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::200000000002:root' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::200000000002:role/s3-onboarding/s3ob-0123456789abcdef' },
          StringEquals: {
            'aws:RequestTag/eks-cluster-arn': 'arn:aws:eks:eu-west-1:200000000002:cluster/demo',
            'aws:RequestTag/kubernetes-namespace': 'mongodb',
            'aws:RequestTag/kubernetes-service-account': ['pbm-agent', 'pbm-restore'],
          },
        },
      },
      {
        Sid: 'EksPodIdentityChain400000000004',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::400000000004:root' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::400000000004:role/s3-onboarding/s3ob-0123456789abcdef' },
          StringEquals: {
            'aws:RequestTag/eks-cluster-arn': 'arn:aws:eks:eu-central-1:400000000004:cluster/dr',
            'aws:RequestTag/kubernetes-namespace': 'mongodb',
            'aws:RequestTag/kubernetes-service-account': ['pbm-agent', 'pbm-restore'],
          },
        },
      },
    ]);
    valid(trust, 'trust');
  });

  it('a cluster in the role’s own account next to one elsewhere: the service principal for the first, a chain statement for the other', () => {
    const trust = podIdentityTrust(who('200000000002', [demo, dr]));
    expect(trust.Statement.map((s) => s.Sid)).toEqual(['EksPodIdentity', 'EksPodIdentityChain400000000004']);
    expect(podRoleAccounts(who('200000000002', [demo, dr]))).toEqual(['400000000004']);
  });
});

describe('Function: podRoleTrust and chainGrant', () => {
  it('the association role of a cluster account trusts EKS Pod Identity for that account’s clusters only, and may only assume the target', () => {
    const w = who('300000000003', [demo, dr]);
    const trust = podRoleTrust(w, '400000000004');
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0].Condition!.StringEquals['aws:RequestTag/eks-cluster-arn']).toBe(
      'arn:aws:eks:eu-central-1:400000000004:cluster/dr',
    );
    valid(trust, 'trust');
    const grant = chainGrant(w.roleArn);
    expect(grant).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'AssumeTargetRole', Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: w.roleArn },
      ],
    });
    valid(grant, 'identity');
  });
});

describe('Function: desiredAssociations', () => {
  it('one per cluster × service account, naming the role of the cluster’s account and, across accounts, the target', () => {
    const w = who('300000000003', [demo]);
    expect(desiredAssociations({ ...w, clusters: [demo, { ...demo, accountId: '300000000003' }] })).toEqual([
      {
        cluster: demo,
        namespace: 'mongodb',
        serviceAccount: 'pbm-agent',
        roleArn: 'arn:aws:iam::200000000002:role/s3-onboarding/s3ob-0123456789abcdef',
        targetRoleArn: w.roleArn,
      },
      {
        cluster: demo,
        namespace: 'mongodb',
        serviceAccount: 'pbm-restore',
        roleArn: 'arn:aws:iam::200000000002:role/s3-onboarding/s3ob-0123456789abcdef',
        targetRoleArn: w.roleArn,
      },
      {
        cluster: { ...demo, accountId: '300000000003' },
        namespace: 'mongodb',
        serviceAccount: 'pbm-agent',
        roleArn: w.roleArn,
      },
      {
        cluster: { ...demo, accountId: '300000000003' },
        namespace: 'mongodb',
        serviceAccount: 'pbm-restore',
        roleArn: w.roleArn,
      },
    ]);
  });
});

import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { ValidationError } from '../errors';
import { errorName, toDomainError } from './errors';

/** The cluster's OIDC issuer URL (https://oidc.eks.REGION.amazonaws.com/id/…). */
export async function clusterIssuer(eks: EKSClient, name: string, path: string): Promise<string> {
  try {
    const out = await eks.send(new DescribeClusterCommand({ name }));
    const issuer = out.cluster?.identity?.oidc?.issuer;
    if (!issuer) throw new ValidationError(`cluster ${name} has no OIDC issuer`, [{ path, message: 'the cluster has no OIDC issuer' }]);
    return issuer;
  } catch (e) {
    if (errorName(e) === 'ResourceNotFoundException') {
      throw new ValidationError(`cluster ${name} not found`, [{ path, message: `no EKS cluster named ${name} in that account and region` }]);
    }
    throw toDomainError(e, `describing cluster ${name}`);
  }
}

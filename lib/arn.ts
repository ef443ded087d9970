/** The parts of an ARN the service needs (arn:partition:service:region:account:resource). */
export const accountOfArn = (arn: string): string => arn.split(':')[4] ?? '';

/** Empty for global services such as IAM. */
export const regionOfArn = (arn: string): string => arn.split(':')[3] ?? '';

/** The last path segment of an IAM ARN: a role's name, without its path. */
export const nameOfArn = (arn: string): string => arn.split('/').pop() ?? '';

/** An EKS cluster, as every part of the service names one: its account, Region and name. */
export interface EksCluster {
  name: string;
  accountId: string;
  region: string;
}

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, SourceData } from '@smithy/types';
import type { Emulator } from '../../emulator/server';
import { clientsFor, emulatorAdmin, rootCredentials } from './emulator';

/**
 * EKS Pod Identity from a pod's side, as the node's agent does it: a projected token (audience
 * pods.eks.amazonaws.com) exchanged through EKS Auth AssumeRoleForPodIdentity, signed with the node's credentials
 * (SigV4, signing name eks-auth; @aws-sdk/client-eks-auth is not on this machine's registry).
 */

const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d);

export class Sha256 implements Checksum {
  private h: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

export interface PodIdentityAnswer {
  status: number;
  errorType?: string;
  message?: string;
  assumedRoleArn?: string;
  credentials?: AwsCredentialIdentity;
}

export interface Pod {
  cluster: { name: string; accountId: string; region: string };
  namespace: string;
  serviceAccount: string;
}

/** The node role of a cluster account: may call EKS Auth for every cluster of the account, nothing else. */
async function nodeCredentials(emu: Emulator, accountId: string): Promise<AwsCredentialIdentity> {
  const iam = clientsFor(emu, rootCredentials(accountId)).iam;
  const name = 'eks-node-for-tests';
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
  const arn = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust })).then(
    (o) => o.Role!.Arn!,
    (e: Error) => {
      // made by an earlier call since the last reset; any other failure is the test's
      if (e.name !== 'EntityAlreadyExistsException') throw e;
      return `arn:aws:iam::${accountId}:role/${name}`;
    },
  );
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'eks-auth:AssumeRoleForPodIdentity',
        Resource: `arn:aws:eks:*:${accountId}:cluster/*`,
      },
    ],
  };
  await iam.send(
    new PutRolePolicyCommand({ RoleName: name, PolicyName: 'eks-auth', PolicyDocument: JSON.stringify(policy) }),
  );
  return emulatorAdmin(emu).roleCredentials(arn);
}

/** EKS Auth's whole answer to AssumeRoleForPodIdentity (its JSON body as sent). */
export interface RawPodIdentityAnswer {
  status: number;
  errorType?: string;
  body: {
    message?: string;
    subject?: { namespace: string; serviceAccount: string };
    audience?: string;
    podIdentityAssociation?: { associationArn: string; associationId: string };
    assumedRoleUser?: { arn: string; assumeRoleId: string };
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: number };
  };
}

/** EKS Auth AssumeRoleForPodIdentity as the node's agent sends it: SigV4 with signing name eks-auth. */
export async function signedAssumeForPod(
  emu: Emulator,
  node: AwsCredentialIdentity,
  cluster: { name: string; region: string },
  token: string,
): Promise<RawPodIdentityAnswer> {
  const url = new URL(emu.url);
  const body = JSON.stringify({ token });
  const signer = new SignatureV4({ service: 'eks-auth', region: cluster.region, credentials: node, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: `/clusters/${cluster.name}/assume-role-for-pod-identity`,
    query: {},
    headers: { host: url.host, 'content-type': 'application/json' },
    body,
  });
  const res = await fetch(`${emu.url}${signed.path}`, { method: 'POST', headers: signed.headers, body });
  return {
    status: res.status,
    errorType: res.headers.get('x-amzn-errortype') ?? undefined,
    body: (await res.json()) as RawPodIdentityAnswer['body'],
  };
}

/** What EKS Auth answers the node for a pod of `pod.cluster` running as `namespace/serviceAccount`. */
export async function assumeForPod(emu: Emulator, pod: Pod): Promise<PodIdentityAnswer> {
  const { cluster } = pod;
  const token = await emulatorAdmin(emu).token({
    cluster: cluster.name,
    namespace: pod.namespace,
    serviceAccount: pod.serviceAccount,
    audience: 'pods.eks.amazonaws.com',
    podName: `${pod.serviceAccount}-0`,
    podUid: 'uid-0',
    accountId: cluster.accountId,
    region: cluster.region,
  });
  const node = await nodeCredentials(emu, cluster.accountId);
  const { status, errorType, body: out } = await signedAssumeForPod(emu, node, cluster, token);
  return {
    status,
    errorType,
    message: out.message,
    assumedRoleArn: out.assumedRoleUser?.arn,
    credentials: out.credentials
      ? {
          accessKeyId: out.credentials.accessKeyId,
          secretAccessKey: out.credentials.secretAccessKey,
          sessionToken: out.credentials.sessionToken,
        }
      : undefined,
  };
}

/** The pod's credentials, or an error saying why EKS Auth refused. */
export async function podIdentityCredentials(emu: Emulator, pod: Pod): Promise<AwsCredentialIdentity> {
  const a = await assumeForPod(emu, pod);
  if (a.status !== 200 || !a.credentials)
    throw Object.assign(new Error(`AssumeRoleForPodIdentity: ${a.status} ${a.errorType} ${a.message}`), {
      name: a.errorType ?? 'Error',
    });
  return a.credentials;
}

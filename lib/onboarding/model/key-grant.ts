/**
 * The onboarding's KMS grant on the bucket's key (contract section 4: SSE-KMS through grants, in every mode; key
 * policies are never changed). `name` is derived from the onboarding id, so a retried CreateGrant answers the same
 * grant; the grantee is the role that calls S3 (the workload role; with Pod Identity and a target role, the target).
 */
export interface KeyGrant {
  accountId: string;
  region: string;
  keyArn: string;
  name: string;
  granteePrincipal: string;
  /** the provisioner role of the key's account: the service retires what it made, with no key-policy change */
  retiringPrincipal: string;
  /** sorted: Decrypt for every level, GenerateDataKey for the writing ones */
  operations: string[];
}

/** A grant's Name: `s3-onboarding_<onboarding id>` (KMS allows [a-zA-Z0-9:/_-], 1-256 characters). */
export const keyGrantName = (onboardingId: string): string => `s3-onboarding_${onboardingId}`;

/** The grant operations an access level needs: S3 decrypts to read (and to complete a multipart upload), and generates data keys to write. */
export const keyGrantOperations = (kmsActions: string[]): string[] =>
  [...new Set(kmsActions.map((a) => a.replace(/^kms:/, '')))].sort();

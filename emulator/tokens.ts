import { createSign, createVerify } from 'node:crypto';
import type { World } from './state';

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nbf?: number;
  [k: string]: unknown;
}

/** A projected service-account token, as the EKS pod identity webhook mounts it. */
export function issueToken(world: World, claims: TokenClaims): string {
  const header = { alg: 'RS256', typ: 'JWT', kid: world.signingKey.kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createSign('RSA-SHA256').update(input).sign(world.signingKey.privateKey);
  return `${input}.${b64url(sig)}`;
}

/** Returns the claims when the signature is the emulator's, else undefined. Expiry is checked by the caller. */
export function verifyToken(world: World, token: string): TokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const ok = createVerify('RSA-SHA256')
    .update(`${parts[0]}.${parts[1]}`)
    .verify(world.signingKey.publicKey, Buffer.from(parts[2], 'base64url'));
  if (!ok) return undefined;
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return undefined;
  }
}

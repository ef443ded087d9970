import type { IncomingHttpHeaders } from 'node:http';
import type { Session, World } from './state';

/** Who is calling: the account root, or a role session issued by the emulator's STS. */
export interface Caller {
  arn: string;
  accountId: string;
  accessKeyId: string;
  session?: Session;
}

export interface EmulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  service: string;
  region: string;
  accessKeyId?: string;
}

export interface ServiceResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface CallContext {
  world: World;
  req: EmulatorRequest;
  operation: string;
  /** undefined only for the unsigned STS AssumeRoleWithWebIdentity */
  caller?: Caller;
  requestId: string;
  now: number;
}

export interface ServiceModule {
  name: string;
  /** the API operation a request names, for the call log and fault matching */
  operationOf(req: EmulatorRequest): string;
  handle(ctx: CallContext): Promise<ServiceResponse> | ServiceResponse;
  renderError(
    code: string,
    message: string,
    status: number,
    ctx: { requestId: string; type: 'Sender' | 'Receiver'; req: EmulatorRequest },
  ): ServiceResponse;
  /** whether the caller may be absent (unsigned request) */
  allowsAnonymous?(operation: string): boolean;
}

export const requireCaller = (ctx: CallContext): Caller => {
  if (!ctx.caller) throw new Error('signed request expected');
  return ctx.caller;
};

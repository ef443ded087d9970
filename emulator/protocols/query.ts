import type { EmulatorRequest, ServiceResponse } from '../context';
import { AwsError } from '../errors';
import { escapeXml, toXml, type XmlNode } from '../xml';

/** Parameters of an AWS query-protocol request (form body, or URL query for GET). */
export class QueryParams {
  constructor(private readonly params: URLSearchParams) {}

  static from(req: EmulatorRequest): QueryParams {
    const body = req.body.toString('utf8');
    return new QueryParams(body ? new URLSearchParams(body) : req.query);
  }

  get action(): string {
    return this.params.get('Action') ?? 'Unknown';
  }

  opt(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  req(name: string, apiName = name.charAt(0).toLowerCase() + name.slice(1)): string {
    const v = this.params.get(name);
    if (v === null || v === '') {
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value null at '${apiName}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return v;
  }

  int(name: string): number | undefined {
    const v = this.params.get(name);
    return v === null ? undefined : Number(v);
  }

  /** `Name.member.1`, `Name.member.2`, … */
  list(name: string): string[] {
    const out: string[] = [];
    for (let i = 1; this.params.has(`${name}.member.${i}`); i++) out.push(this.params.get(`${name}.member.${i}`)!);
    return out;
  }

  /** `Tags.member.N.Key` / `.Value` */
  tags(name = 'Tags'): { Key: string; Value: string }[] {
    const out: { Key: string; Value: string }[] = [];
    for (let i = 1; this.params.has(`${name}.member.${i}.Key`); i++) {
      out.push({
        Key: this.params.get(`${name}.member.${i}.Key`)!,
        Value: this.params.get(`${name}.member.${i}.Value`) ?? '',
      });
    }
    return out;
  }
}

export function queryResponse(
  ns: string,
  action: string,
  result: XmlNode | undefined,
  requestId: string,
): ServiceResponse {
  const inner = result === undefined ? '' : `<${action}Result>${toXml(result)}</${action}Result>`;
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${ns}">${inner}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

export function queryError(
  ns: string,
  code: string,
  message: string,
  status: number,
  requestId: string,
  type: string,
): ServiceResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${ns}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

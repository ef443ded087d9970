/** Minimal XML writer for the query and REST-XML protocols. */
export type XmlValue = string | number | boolean | Date | undefined | null | XmlNode | XmlValue[];
export interface XmlNode {
  [key: string]: XmlValue;
}

export const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const scalar = (v: string | number | boolean | Date): string =>
  v instanceof Date ? v.toISOString() : escapeXml(String(v));

/** Renders children of a node. Arrays become repeated `member` elements (IAM style) unless `flat` names them. */
export function toXml(node: XmlNode): string {
  let out = '';
  for (const [key, value] of Object.entries(node)) out += element(key, value);
  return out;
}

function element(key: string, value: XmlValue): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return `<${key}>${value.map((v) => element('member', v)).join('')}</${key}>`;
  if (typeof value === 'object' && !(value instanceof Date)) {
    if (value instanceof FlatList) return value.items.map((v) => element(key, v)).join('');
    if (value instanceof XmlMap) {
      return `<${key}>${Object.entries(value.entries)
        .map(([k, v]) => `<entry><key>${escapeXml(k)}</key>${element('value', v)}</entry>`)
        .join('')}</${key}>`;
    }
    return `<${key}>${toXml(value)}</${key}>`;
  }
  return `<${key}>${scalar(value)}</${key}>`;
}

/** A list rendered as repeated elements named like the key (S3 style), not wrapped in `member`. */
class FlatList {
  [key: string]: XmlValue;
  constructor(readonly items: XmlValue[]) {}
}
export const flat = (items: XmlValue[]): XmlNode => new FlatList(items) as unknown as XmlNode;

/** A map rendered as `<entry><key/><value/></entry>` elements (IAM's SummaryMap). */
class XmlMap {
  [key: string]: XmlValue;
  constructor(readonly entries: Record<string, XmlValue>) {}
}
export const xmlMap = (entries: Record<string, XmlValue>): XmlNode => new XmlMap(entries) as unknown as XmlNode;

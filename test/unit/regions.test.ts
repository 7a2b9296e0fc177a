import { findRegion, isLocalityCode, isRegionCode, regionChildren, regionLabel, regionName } from '../../src/domain/regions';

describe('GB/T 2260 regions', () => {
  it('knows Xining and its districts', () => {
    expect(findRegion('630100')).toMatchObject({ name: '西宁市', level: 'city', parent: '630000' });
    expect(regionChildren('630100').map((r) => r.name)).toContain('城东区');
    expect(regionName('630102')).toBe('青海省 西宁市 城东区');
  });

  it('lists the provinces first', () => {
    const provinces = regionChildren(null);
    expect(provinces.length).toBeGreaterThanOrEqual(31);
    expect(provinces.map((p) => p.code)).toContain('630000');
  });

  it('puts the districts of a municipality directly under it', () => {
    expect(findRegion('110108')).toMatchObject({ name: '海淀区', level: 'district', parent: '110000' });
  });

  it('tells a locality (city or district) from a province', () => {
    expect(isLocalityCode('630000')).toBe(false);
    expect(isLocalityCode('630100')).toBe(true);
    expect(isLocalityCode('630102')).toBe(true);
  });

  it('refuses codes that are not regions', () => {
    expect(isRegionCode('630199')).toBe(false);
    expect(isRegionCode('63010')).toBe(false);
    expect(isRegionCode({ $ne: null })).toBe(false);
  });
});

describe('region names in English', () => {
  const CJK = /[\u3400-\u9fff]/;

  it('names a place from the smallest up, the province by its official name', () => {
    expect(regionName('630102', 'en')).toBe('Chengdong District, Xining, Qinghai');
    expect(regionName('630100', 'en')).toBe('Xining, Qinghai');
    expect(regionName('110108', 'en')).toBe('Haidian District, Beijing');
    expect(regionName('610100', 'en')).toBe("Xi'an, Shaanxi");
    expect(regionName('640100', 'en')).toBe('Yinchuan, Ningxia Hui Autonomous Region');
    // Chinese stays the default, province first.
    expect(regionName('630102')).toBe('青海省 西宁市 城东区');
    expect(regionName('630102', 'zh-CN')).toBe('青海省 西宁市 城东区');
  });

  it('says what kind of place it is, and who an autonomous one is for', () => {
    expect(findRegion('630121')!.nameEn).toBe('Datong Hui and Tu Autonomous County');
    expect(findRegion('632200')!.nameEn).toBe('Haibei Tibetan Autonomous Prefecture');
    expect(findRegion('632800')!.nameEn).toBe('Haixi Mongol and Tibetan Autonomous Prefecture');
    expect(findRegion('622927')!.nameEn).toBe('Jishishan Bonan, Dongxiang and Salar Autonomous County');
    expect(findRegion('622926')!.nameEn).toBe('Dongxiang Autonomous County');
    expect(findRegion('371722')!.nameEn).toBe('Shan County'); // 单县: the place name's own reading
    expect(findRegion('330382')!.nameEn).toBe('Yueqing City'); // a county-level city
    expect(findRegion('152200')!.nameEn).toBe("Xing'an League");
    expect(findRegion('632822')!.nameEn).toBe('Dulan County'); // 都 is "du" in place names
    expect(findRegion('429021')!.nameEn).toBe('Shennongjia Forestry District');
    // A development zone named after the places above it: each place its own word.
    expect(findRegion('130271')!.nameEn).toBe('Hebei Tangshan Lutai Economic Development Zone');
  });

  it('has an English name without Chinese characters for every region', () => {
    const all: string[] = [];
    const walk = (parent: string | null) => regionChildren(parent).forEach((r) => { all.push(r.nameEn); walk(r.code); });
    walk(null);
    expect(all.length).toBeGreaterThan(3000);
    expect(all.filter((n) => !n || CJK.test(n))).toEqual([]);
  });

  it('labels a region in the language asked for, and keeps an unknown code as it is', () => {
    const xining = findRegion('630100')!;
    expect(regionLabel(xining, 'en')).toBe('Xining');
    expect(regionLabel(xining)).toBe('西宁市');
    expect(regionName('630199', 'en')).toBe('630199');
    expect(regionName(null, 'en')).toBe('');
    expect(JSON.parse(JSON.stringify(xining))).toMatchObject({ code: '630100', name: '西宁市', nameEn: 'Xining' });
  });
});

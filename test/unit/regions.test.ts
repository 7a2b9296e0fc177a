import { findRegion, isLocalityCode, isRegionCode, regionChildren, regionName } from '../../src/domain/regions';

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

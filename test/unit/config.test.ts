import { loadConfig, ConfigError } from '../../src/config';

const base = { MONGODB_URI: 'mongodb://127.0.0.1:1/x', REDIS_URL: 'redis://127.0.0.1:2', SESSION_SECRET: 's'.repeat(32) };

describe('loadConfig', () => {
  it('applies defaults and freezes the result', () => {
    const c = loadConfig(base);
    expect(c.port).toBe(3000);
    expect(c.agency.code).toBe('630100');
    expect(c.turnoverTargetFen).toBe(100_000_000_000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ ...base, PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ ...base, MONGODB_URI: 'postgres://x' })).toThrow(/MONGODB_URI/);
    expect(() => loadConfig({ ...base, SESSION_SECRET: 'short' })).toThrow(/SESSION_SECRET/);
    expect(() => loadConfig({ ...base, AGENCY_CODE: '63010' })).toThrow(/AGENCY_CODE/);
    expect(() => loadConfig({ ...base, TURNOVER_TARGET_YUAN: '1e9' })).toThrow(/TURNOVER_TARGET_YUAN/);
  });

  it('reports every missing required variable at once', () => {
    try {
      loadConfig({});
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const name of ['MONGODB_URI', 'REDIS_URL', 'SESSION_SECRET']) expect(msg).toContain(name);
    }
  });

  it('reads a target with fen exactly', () => {
    expect(loadConfig({ ...base, TURNOVER_TARGET_YUAN: '1234.56' }).turnoverTargetFen).toBe(123_456);
  });
});

import { checkUscc, usccCheckCharacter } from '../../src/domain/uscc';

describe('unified social credit code', () => {
  it('accepts the documented example', () => {
    expect(checkUscc('91350100M000100Y43')).toEqual({ ok: true, code: '91350100M000100Y43' });
  });

  it('normalises case and spaces', () => {
    expect(checkUscc(' 91350100m000100y43 ')).toEqual({ ok: true, code: '91350100M000100Y43' });
  });

  it('refuses wrong lengths and characters outside the alphabet', () => {
    expect(checkUscc('91350100M000100Y4')).toMatchObject({ ok: false, reason: 'length' });
    expect(checkUscc('91350100M000100Y433')).toMatchObject({ ok: false, reason: 'length' });
    for (const bad of ['I', 'O', 'S', 'V', 'Z', '-']) {
      expect(checkUscc('91350100M00010' + bad + 'Y43')).toMatchObject({ ok: false, reason: 'characters' });
    }
  });

  it('names the check character a mistyped code should end with', () => {
    expect(checkUscc('91350100M000100Y44')).toEqual({ ok: false, reason: 'check', code: '91350100M000100Y44', expected: '3' });
  });

  it('computes check characters that make codes valid', () => {
    for (const body of ['12630100MB1234567', '91630100MA7ABCDEF', '52630000000000000']) {
      expect(checkUscc(body + usccCheckCharacter(body)).ok).toBe(true);
    }
  });
});

import { checkResidentId, isMaskOf, maskResidentId, residentIdCheckCharacter } from '../../src/domain/resident-id';

describe('resident identity card number (GB 11643-1999)', () => {
  it('accepts known valid numbers, including the check character X', () => {
    expect(checkResidentId('11010519491231002X')).toEqual({ ok: true, idNumber: '11010519491231002X' });
    expect(checkResidentId('440524188001010014')).toEqual({ ok: true, idNumber: '440524188001010014' });
  });

  it('normalises a lower-case x and spaces', () => {
    expect(checkResidentId(' 110105 19491231 002x ')).toEqual({ ok: true, idNumber: '11010519491231002X' });
  });

  it('names the check character a mistyped number should end with', () => {
    expect(checkResidentId('110105194912310021')).toEqual({ ok: false, reason: 'check', idNumber: '110105194912310021', expected: 'X' });
    expect(checkResidentId('440524188001010015')).toMatchObject({ ok: false, reason: 'check', expected: '4' });
    expect(residentIdCheckCharacter('11010519491231002')).toBe('X');
  });

  it('refuses wrong lengths, including the old 15-digit numbers', () => {
    expect(checkResidentId('11010519491231002')).toMatchObject({ ok: false, reason: 'length' });
    expect(checkResidentId('11010519491231002X1')).toMatchObject({ ok: false, reason: 'length' });
    expect(checkResidentId('110105491231002')).toMatchObject({ ok: false, reason: 'length' });
    expect(checkResidentId('')).toMatchObject({ ok: false, reason: 'length' });
  });

  it('refuses letters anywhere but an X at the end', () => {
    expect(checkResidentId('1101051949123100XX')).toMatchObject({ ok: false, reason: 'characters' });
    expect(checkResidentId('11010519491231002Y')).toMatchObject({ ok: false, reason: 'characters' });
    expect(checkResidentId('110105********002X')).toMatchObject({ ok: false, reason: 'characters' });
  });

  it('refuses a birth date that is not a real date or lies in the future', () => {
    const withCheck = (first17: string) => first17 + residentIdCheckCharacter(first17);
    expect(checkResidentId(withCheck('11010519490230002'))).toMatchObject({ ok: false, reason: 'birthDate' }); // 30 February
    expect(checkResidentId(withCheck('11010519491301002'))).toMatchObject({ ok: false, reason: 'birthDate' }); // month 13
    expect(checkResidentId(withCheck('11010517991231002'))).toMatchObject({ ok: false, reason: 'birthDate' }); // before 1800
    expect(checkResidentId(withCheck('11010520260302002'), '2026-03-01')).toMatchObject({ ok: false, reason: 'birthDate' });
    expect(checkResidentId(withCheck('11010520260301002'), '2026-03-01')).toMatchObject({ ok: true });
    expect(checkResidentId(withCheck('11010520000229002'))).toMatchObject({ ok: true }); // a leap day
    expect(checkResidentId(withCheck('11010519000229002'))).toMatchObject({ ok: false, reason: 'birthDate' }); // 1900 was not leap
  });

  it('masks all but the first 6 and the last 4 characters', () => {
    expect(maskResidentId('11010519491231002X')).toBe('110105********002X');
    expect(maskResidentId('440524188001010014')).toBe('440524********0014');
    expect(isMaskOf('110105********002X', '11010519491231002X')).toBe(true);
    expect(isMaskOf('110105********002x', '11010519491231002X')).toBe(true);
    expect(isMaskOf('11010519491231002X', '11010519491231002X')).toBe(false); // the number itself is not its mask
    expect(isMaskOf('440524********0014', '11010519491231002X')).toBe(false);
  });
});

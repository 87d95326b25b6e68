import { createFieldCrypto, generateKeyEntry, isSealed, openText, parseKeyList } from '../../src/privacy/field-crypto';
import { pseudonymFor } from '../../src/privacy/pseudonym';

describe('field encryption', () => {
  const keys = `${generateKeyEntry('new')},${generateKeyEntry('old')}`;

  test('when a text is sealed, then it carries the current key id, a fresh IV each time, and opens to the same text', () => {
    const crypto = createFieldCrypto(keys);
    const a = crypto.encrypt('the learner said she was exhausted');
    const b = crypto.encrypt('the learner said she was exhausted');
    expect(a).toMatchObject({ v: 1, kid: 'new' });
    expect(isSealed(a)).toBe(true);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
    expect(JSON.stringify(a)).not.toContain('exhausted');
    expect(crypto.decrypt(a)).toBe('the learner said she was exhausted');
  });

  test('when the ciphertext or tag is changed, then decryption fails instead of returning altered text', () => {
    const crypto = createFieldCrypto(keys);
    const sealed = crypto.encrypt('original');
    const ct = Buffer.from(sealed.ct, 'base64');
    ct[0] = ct[0]! ^ 1;
    expect(() => crypto.decrypt({ ...sealed, ct: ct.toString('base64') })).toThrow();
    expect(() => crypto.decrypt({ ...sealed, tag: Buffer.alloc(16).toString('base64') })).toThrow();
  });

  test('when a value was sealed with an older key still listed, then it opens; with a key no longer listed, it reads as a placeholder', () => {
    const oldOnly = createFieldCrypto(keys.split(',')[1]!);
    const sealed = oldOnly.encrypt('from before the rotation');
    expect(createFieldCrypto(keys).decrypt(sealed)).toBe('from before the rotation');
    const other = createFieldCrypto(generateKeyEntry('other'));
    expect(() => other.decrypt(sealed)).toThrow('unknown data encryption key id "old"');
    expect(openText(other, sealed)).toMatch(/^\[unreadable/);
    expect(openText(other, 'legacy plain text')).toBe('legacy plain text');
  });

  test.each([
    ['empty', '', 'at least one key'],
    ['without a key id', 'nokid', 'kid'],
    ['a short key', 'k1:c2hvcnQ=', 'must be 32 bytes'],
    ['a key id twice', `${generateKeyEntry('a')},${generateKeyEntry('a')}`, 'twice'],
  ])('when DATA_ENCRYPTION_KEYS is %s, then it is refused naming the problem', (_label, text, message) => {
    expect(() => parseKeyList(text)).toThrow(message);
  });

  test('when a pseudonym is derived, then it is stable per issuer and subject and differs between them', () => {
    const p = pseudonymFor('secret', 'https://lms.example.edu', 'user-1');
    expect(p).toMatch(/^Coach [0-9A-F]{6}$/);
    expect(pseudonymFor('secret', 'https://lms.example.edu', 'user-1')).toBe(p);
    expect(pseudonymFor('secret', 'https://lms.example.edu', 'user-2')).not.toBe(p);
    expect(pseudonymFor('other secret', 'https://lms.example.edu', 'user-1')).not.toBe(p);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { parseUnc, sharePasswordProblem } from './unc.js';

test('parseUnc: //host/share[/dir…] with an IPv4 address or a host name; anything else says what is wrong', () => {
  assert.deepEqual(parseUnc('//10.0.0.5/backups'), { host: '10.0.0.5', share: 'backups', path: '' });
  assert.deepEqual(parseUnc('//nas.example.org/Backups$/lifeboat/site-1/'), { host: 'nas.example.org', share: 'Backups$', path: 'lifeboat/site-1' });
  assert.deepEqual(parseUnc('//nas/My Share'), { host: 'nas', share: 'My Share', path: '' });
  const bad: Array<[string, RegExp]> = [
    ['\\\\nas\\share', /backslashes: write it with forward slashes/],
    ['nas/share', /not of the form \/\/host\/share/],
    ['//nas', /not of the form/],
    ['//nas/', /empty share or folder name/],
    ['//nas//x', /empty share or folder name/],
    ['//300.1.1.1/x', /not an IPv4 address or a host name/],
    ['//-nas/x', /not an IPv4 address or a host name/],
    ['//user@nas/x', /not an IPv4 address or a host name/],
    ['//nas/x/../y', /has "\.\.", which is not a share or folder name/],
    ['//nas/a,user=root', /"a,user=root", which is not a share or folder name/],
    ['//nas/a=b', /not a share or folder name/],
    ['//nas/a\nb', /not a share or folder name/],
    [`//nas/${'a'.repeat(600)}`, /longer than 512/],
  ];
  for (const [unc, pattern] of bad) {
    const r = parseUnc(unc);
    assert.equal(typeof r, 'string', unc);
    assert.match(r as string, pattern, unc);
  }
});

test('parseUnc never throws on hostile input, and what it accepts is exactly what it was given', () => {
  const alphabet = '/\\.,=$ -_aZ09\n\u0000é:@[]';
  for (let i = 0; i < 20000; i++) {
    const bytes = randomBytes(1 + (i % 40));
    const s = (i % 3 === 0 ? '//' : '') + [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
    const r = parseUnc(s);
    if (typeof r === 'string') continue;
    assert.equal(`//${r.host}/${r.share}${r.path ? `/${r.path}` : ''}`, s.replace(/\/$/, ''));
    // eslint-disable-next-line no-control-regex -- NUL is one of the characters the check is for
    assert.doesNotMatch(`${r.host}${r.share}${r.path}`, /[,=\\\n\u0000]/);
  }
});

test('a share password the boot OS cannot pass is refused without quoting it', () => {
  assert.equal(sharePasswordProblem('correct horse battery staple!'), null);
  assert.match(sharePasswordProblem('') ?? '', /is empty/);
  assert.match(sharePasswordProblem('ab,cd') ?? '', /comma/);
  assert.match(sharePasswordProblem('ab\u0007cd') ?? '', /control character/);
  assert.match(sharePasswordProblem('x'.repeat(257)) ?? '', /longer than 256/);
  for (const p of ['ab,cd', 'ab\u0007cd']) assert.ok(!(sharePasswordProblem(p) ?? '').includes(p));
});

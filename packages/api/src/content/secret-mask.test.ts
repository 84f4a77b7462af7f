import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@nexus/core';
import { SecretMasker, maskOf, parseMaskPatterns } from './secret-mask.ts';

// Synthetic secrets of each published shape, made here from a seeded generator (no real key is
// in the repository), and text that looks like secrets but is not.
let seed = 42;
const next = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed;
};
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64 = `${ALNUM}+/`;
const pick = (alphabet: string, length: number) =>
  Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
const b64url = (text: string) => Buffer.from(text).toString('base64url');

const SECRETS: readonly { text: string; kind: string; secret: string }[] = (() => {
  const pem = `-----BEGIN RSA PRIVATE KEY-----\n${pick(B64, 64)}\n${pick(B64, 64)}\n-----END RSA PRIVATE KEY-----`;
  const openssh = `-----BEGIN OPENSSH PRIVATE KEY-----\n${pick(B64, 70)}\n-----END OPENSSH PRIVATE KEY-----`;
  const jwt = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url('{"sub":"1234567890","name":"A"}')}.${pick(ALNUM, 43)}`;
  const items: [string, (s: string) => string, string][] = [
    [`sk-proj-${pick(ALNUM, 48)}`, (s) => `my key is ${s}, keep it`, 'openai-key'],
    [`sk-${pick(ALNUM, 48)}`, (s) => `export OPENAI=${s}`, 'openai-key'],
    [`sk-svcacct-${pick(ALNUM, 40)}`, (s) => `"apiKey": "${s}"`, 'openai-key'],
    [`sk-ant-api03-${pick(ALNUM, 80)}`, (s) => `Anthropic: ${s}`, 'anthropic-key'],
    [`sk-ant-admin01-${pick(ALNUM, 60)}`, (s) => s, 'anthropic-key'],
    [
      `ghp_${pick(ALNUM, 36)}`,
      (s) => `git clone https://github.com/x/y (token ${s})`,
      'github-token',
    ],
    [`gho_${pick(ALNUM, 36)}`, (s) => `oauth ${s}`, 'github-token'],
    [`github_pat_${pick(ALNUM, 22)}_${pick(ALNUM, 59)}`, (s) => `PAT=${s}`, 'github-token'],
    [`sk_live_${pick(ALNUM, 24)}`, (s) => `stripe.setApiKey('${s}')`, 'stripe-key'],
    [`rk_test_${pick(ALNUM, 24)}`, (s) => `restricted ${s}`, 'stripe-key'],
    [`whsec_${pick(ALNUM, 32)}`, (s) => `signing secret ${s}`, 'stripe-webhook-secret'],
    [
      `xoxb-${pick('0123456789', 12)}-${pick('0123456789', 13)}-${pick(ALNUM, 24)}`,
      (s) => `SLACK ${s}`,
      'slack-token',
    ],
    [`xoxp-${pick('0123456789', 12)}-${pick(ALNUM, 30)}`, (s) => `${s}.`, 'slack-token'],
    [
      `xapp-1-A${pick(UPPER, 10)}-${pick('0123456789', 13)}-${pick(ALNUM, 40)}`,
      (s) => `app token ${s}`,
      'slack-token',
    ],
    [
      `https://hooks.slack.com/services/T${pick(UPPER, 8)}/B${pick(UPPER, 10)}/${pick(ALNUM, 24)}`,
      (s) => `post to ${s}`,
      'slack-webhook',
    ],
    [`AKIA${pick(UPPER, 16)}`, (s) => `aws_access_key_id = ${s}`, 'aws-access-key'],
    [`ASIA${pick(UPPER, 16)}`, (s) => `temporary ${s} here`, 'aws-access-key'],
    [pick(B64, 40), (s) => `aws_secret_access_key = ${s}`, 'aws-secret-key'],
    [pick(B64, 40), (s) => `AWS_SECRET_ACCESS_KEY: "${s}"`, 'aws-secret-key'],
    [`AIza${pick(ALNUM, 35)}`, (s) => `maps key ${s}`, 'google-api-key'],
    [`ya29.${pick(ALNUM, 60)}`, (s) => `access_token ${s}`, 'google-oauth'],
    [`GOCSPX-${pick(ALNUM, 28)}`, (s) => `client secret ${s}`, 'google-oauth'],
    [
      `nxk_${pick('abcdefghijklmnopqrstuvwxyz0123456789', 12)}_${pick(ALNUM, 32)}`,
      (s) => `NEXUS key ${s}`,
      'nexus-key',
    ],
    [
      pick(B64, 86) + '==',
      (s) => `DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${s};`,
      'azure-account-key',
    ],
    [jwt, (s) => `id_token: ${s}`, 'jwt'],
    [
      pick(ALNUM, 40),
      (s) => `curl -H "Authorization: Bearer ${s}" https://api.example.com`,
      'bearer-token',
    ],
    [`hunter2hunter2`, (s) => `postgres://admin:${s}@db.internal:5432/app`, 'url-password'],
    [`p4ss-w0rd!`, (s) => `https://bob:${s}@example.com/path`, 'url-password'],
    [`correct-horse-battery`, (s) => `DB_PASSWORD=${s}`, 'env-secret'],
    [pick(ALNUM, 32), (s) => `export MY_SERVICE_API_KEY="${s}"`, 'env-secret'],
    [pem, (s) => `here is the key:\n${s}\nthanks`, 'private-key'],
    [openssh, (s) => s, 'private-key'],
  ];
  return items.map(([secret, frame, kind]) => ({ text: frame(secret), kind, secret }));
})();

const LOOK_ALIKES: readonly string[] = [
  `sha256 ${createHash('sha256').update('a').digest('hex')}`,
  `commit ${createHash('sha1').update('b').digest('hex')}`,
  `md5 ${createHash('md5').update('c').digest('hex')}`,
  `session ${randomUUID()} started`,
  `request id ${randomUUID().toUpperCase()}`,
  `data:image/png;base64,${pick(B64, 400)}==`,
  `{"type":"image","data":"${pick(B64, 2000)}"}`,
  'The skeleton key opens the task-runner door', // "sk" inside words
  'sk-learn is a library; so is sk-image', // too short after the prefix
  'ask-for-help-with-the-form-please-now', // "sk-" inside a word
  'AKIA is not a key by itself, nor is AKIAshort',
  'Bearer tokens are explained in RFC 6750', // no token after "Bearer"
  'Authorization: Bearer <token>',
  'https://example.com/path?user=a:b', // no "@" after a colon pair
  'ssh user@example.com and git@github.com:owner/repo.git',
  'mailto:someone@example.com',
  'The PASSWORD field must be filled in', // no assignment
  'PASSWORD=*** (masked by OpenClaw)', // too short to be a value
  `OpenClaw masked this: sk-pro…cdef and ghp_ab…wxyz`, // OpenClaw's own masks
  'token count: 12345, tokens=98765',
  'eyJhbGciOi is where a JWT header begins',
  `whsec_ alone, xoxb- alone, ${'x'.repeat(50)}`,
  'BEGIN PRIVATE KEY without the dashes, and -----BEGIN PUBLIC KEY-----',
  `pk_live_${pick(ALNUM, 24)} is a publishable Stripe key, meant to be public`,
  `version 2026.9.6, build 0x${pick('0123456789abcdef', 40)}`,
  `ULID 01${pick('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 24)}`,
  `base64 of a photo: ${pick(B64, 200)}`,
  '会议在下午三点开始，请准时参加。',
  'let AccountKey = readKeyFromVault();',
  'ghp_ is the prefix of a GitHub token',
];

describe('SecretMasker', () => {
  const masker = new SecretMasker();

  it('masks every secret of the corpus by its kind, and none of the look-alikes', () => {
    const missed = SECRETS.filter(({ text, secret }) => masker.mask(text).includes(secret));
    const wrongKind = SECRETS.filter(({ text, kind }) => masker.find(text)[0] !== kind);
    const falsePositives = LOOK_ALIKES.filter((text) => masker.mask(text) !== text);
    console.info(
      `secret masking corpus: ${SECRETS.length - missed.length}/${SECRETS.length} secrets masked, ` +
        `${falsePositives.length}/${LOOK_ALIKES.length} look-alikes masked (false positives)`,
    );
    expect(missed.map((s) => s.kind)).toEqual([]);
    expect(wrongKind.map((s) => [s.kind, masker.find(s.text)])).toEqual([]);
    expect(falsePositives).toEqual([]);
  });

  it('keeps the words around a secret and the secret-free parts of a match', () => {
    expect(masker.mask('curl -H "Authorization: Bearer abcdefghijklmnop1234" x')).toBe(
      `curl -H "Authorization: Bearer ${maskOf('bearer-token')}" x`,
    );
    expect(masker.mask('postgres://admin:hunter2hunter2@db:5432/app')).toBe(
      `postgres://admin:${maskOf('url-password')}@db:5432/app`,
    );
    expect(masker.mask('DB_PASSWORD=correct-horse')).toBe(`DB_PASSWORD=${maskOf('env-secret')}`);
  });

  it('gives back the very same string when there is nothing to mask', () => {
    const text = 'nothing to see here';
    expect(masker.mask(text)).toBe(text);
  });

  it('is idempotent: masked text is not masked again', () => {
    for (const { text } of SECRETS) {
      const once = masker.mask(text);
      expect(masker.mask(once)).toBe(once);
    }
  });

  it('masks every string of a parsed entry but an image block’s data', () => {
    const key = `sk-proj-${'a'.repeat(40)}`;
    const entry = {
      type: 'message',
      message: {
        role: 'user',
        content: [
          { type: 'text', text: `use ${key}` },
          { type: 'image', data: `sk-proj-${'b'.repeat(40)}`, mimeType: 'image/png' },
        ],
      },
      meta: [key, 3, null, true],
    };
    expect(masker.maskJson(entry)).toEqual({
      type: 'message',
      message: {
        role: 'user',
        content: [
          { type: 'text', text: `use ${maskOf('openai-key')}` },
          { type: 'image', data: `sk-proj-${'b'.repeat(40)}`, mimeType: 'image/png' },
        ],
      },
      meta: [maskOf('openai-key'), 3, null, true],
    });
  });

  it('applies the owner’s patterns after the built-in ones', () => {
    const owner = new SecretMasker(
      parseMaskPatterns('["ACME-[0-9]{8}", {"kind":"badge","pattern":"BADGE#\\\\d+"}]'),
    );
    expect(owner.mask('id ACME-12345678 and BADGE#42')).toBe(
      `id ${maskOf('custom')} and ${maskOf('badge')}`,
    );
  });
});

describe('parseMaskPatterns', () => {
  it('is empty without a value', () => {
    expect(parseMaskPatterns(undefined)).toEqual([]);
    expect(parseMaskPatterns('  ')).toEqual([]);
  });

  it.each([
    ['not json', /is not JSON/],
    ['{"a":1}', /must be an array/],
    ['[""]', /has no pattern/],
    ['["(unclosed"]', /not a valid regular expression/],
    ['["a*"]', /matches empty text/],
    ['[{"kind":"Bad Kind","pattern":"x"}]', /kind must be/],
    ['[42]', /has no pattern/],
  ])('refuses %s with a message that says how to fix it', (value, message) => {
    expect(() => parseMaskPatterns(value)).toThrow(ConfigError);
    expect(() => parseMaskPatterns(value)).toThrow(message);
    expect(() => parseMaskPatterns(value)).toThrow(/NEXUS_MASK_PATTERNS to a JSON array/);
  });
});

import { ConfigError } from '@nexus/core';

/**
 * One kind of secret: where it is in text, and which part of the match is the secret (`group`,
 * a named group; the whole match when absent). The rest of the match stays, so "Bearer", a URL's
 * user name or a variable's name still read.
 */
export interface MaskRule {
  readonly kind: string;
  readonly pattern: RegExp;
  readonly group?: string;
}

/**
 * Secrets of the common providers, by their published shapes. Each needs a prefix or a keyword
 * and a length, so hashes, UUIDs and base64 image data (no prefix, or too short after one) are
 * left as they are. OpenClaw's own masks (`sk-pro…cdef`, `***`, 2026.9.2 on) break every shape
 * here (the `…` is not a token character), so masked text is not masked twice.
 */
export const BUILT_IN_RULES: readonly MaskRule[] = [
  {
    kind: 'private-key',
    pattern:
      /-----BEGIN (?<label>(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----[\s\S]*?-----END \k<label>-----/g,
  },
  { kind: 'anthropic-key', pattern: /\bsk-ant-[a-z]+\d{2}-[A-Za-z0-9_-]{20,}/g },
  {
    kind: 'openai-key',
    pattern: /\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}/g,
  },
  {
    kind: 'github-token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})/g,
  },
  { kind: 'stripe-key', pattern: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { kind: 'stripe-webhook-secret', pattern: /\bwhsec_[A-Za-z0-9+/=]{16,}/g },
  {
    kind: 'slack-token',
    pattern: /\b(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})/g,
  },
  {
    kind: 'slack-webhook',
    pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]{16,}/g,
  },
  { kind: 'aws-access-key', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g },
  {
    kind: 'aws-secret-key',
    pattern:
      /\baws_?secret_?access_?key\b["']?\s*[:=]\s*["']?(?<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
    group: 'secret',
  },
  { kind: 'google-api-key', pattern: /\bAIza[0-9A-Za-z_-]{35}/g },
  { kind: 'google-oauth', pattern: /\b(?:ya29\.[0-9A-Za-z_-]{20,}|GOCSPX-[A-Za-z0-9_-]{20,})/g },
  { kind: 'nexus-key', pattern: /\bnxk_[a-z0-9]{8,}_[A-Za-z0-9_-]{20,}/g },
  {
    kind: 'azure-account-key',
    pattern: /\b(?:AccountKey|SharedAccessKey)=(?<secret>[A-Za-z0-9+/]{20,}={0,2})/g,
    group: 'secret',
  },
  {
    kind: 'jwt',
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g,
  },
  {
    kind: 'bearer-token',
    pattern: /\bBearer\s+(?<secret>[A-Za-z0-9._~+/-]{16,}=*)/g,
    group: 'secret',
  },
  {
    kind: 'url-password',
    // scheme://user:password@host: the user name stays, the password goes.
    pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]{1,100}:(?<secret>[^\s@/]{1,200})@/gi,
    group: 'secret',
  },
  {
    kind: 'env-secret',
    // An environment-style assignment of a secret: `OPENAI_API_KEY=...`, `DB_PASSWORD: "..."`.
    pattern:
      /\b[A-Z][A-Z0-9_]*(?:API_KEY|APIKEY|SECRET|SECRET_KEY|PASSWORD|PASSWD|TOKEN|ACCESS_KEY)\b\s*[:=]\s*["']?(?<secret>[^\s"'`]{8,})/g,
    group: 'secret',
  },
];

/** What a masked secret becomes: its kind, so a reader knows what was there. */
export const maskOf = (kind: string): string => `[masked ${kind}]`;

/**
 * The masking pass applied to everything Nexus shows, exports or quotes in a search result (never
 * to stored bytes, nor to the raw download an owner asks for). The built-in rules, then the
 * owner's (`NEXUS_MASK_PATTERNS`).
 */
export class SecretMasker {
  private readonly rules: readonly MaskRule[];

  constructor(extra: readonly MaskRule[] = []) {
    this.rules = [...BUILT_IN_RULES, ...extra];
  }

  /** The text with each secret replaced by `[masked <kind>]`; the same string when none. */
  mask(text: string): string {
    let out = text;
    for (const rule of this.rules) {
      rule.pattern.lastIndex = 0;
      if (!rule.pattern.test(out)) continue;
      rule.pattern.lastIndex = 0;
      out = out.replace(rule.pattern, (...args: unknown[]) => replacement(rule, args));
    }
    return out;
  }

  /**
   * A parsed transcript value with every string masked; an image's base64 `data` is left as it
   * is (it is shown as an image or named, never as text).
   */
  maskJson(value: unknown): unknown {
    if (typeof value === 'string') return this.mask(value);
    if (Array.isArray(value)) return value.map((item) => this.maskJson(item));
    if (typeof value !== 'object' || value === null) return value;
    const image = (value as Record<string, unknown>)['type'] === 'image';
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = image && key === 'data' ? item : this.maskJson(item);
    return out;
  }

  /** Each secret found, by kind (for the corpus test and the docs' counts). */
  find(text: string): string[] {
    const kinds: string[] = [];
    let out = text;
    for (const rule of this.rules) {
      rule.pattern.lastIndex = 0;
      out = out.replace(rule.pattern, (...args: unknown[]) => {
        kinds.push(rule.kind);
        return replacement(rule, args);
      });
    }
    return kinds;
  }
}

function replacement(rule: MaskRule, args: readonly unknown[]): string {
  const match = args[0] as string;
  if (rule.group === undefined) return maskOf(rule.kind);
  const groups = args[args.length - 1] as Record<string, string | undefined>;
  const secret = groups[rule.group];
  if (secret === undefined) return maskOf(rule.kind);
  const at = match.lastIndexOf(secret);
  return `${match.slice(0, at)}${maskOf(rule.kind)}${match.slice(at + secret.length)}`;
}

/**
 * The owner's patterns from `NEXUS_MASK_PATTERNS`: a JSON array of regular expressions (strings,
 * JavaScript syntax), or of `{"kind": "...", "pattern": "..."}`. Each match is masked whole.
 */
export function parseMaskPatterns(value: string | undefined): MaskRule[] {
  if (value === undefined || value.trim() === '') return [];
  const fix =
    'set NEXUS_MASK_PATTERNS to a JSON array of regular expressions, e.g. ["ACME-[0-9]{8}"] or [{"kind":"acme-id","pattern":"ACME-[0-9]{8}"}]';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError(`NEXUS_MASK_PATTERNS is not JSON; ${fix}.`);
  }
  if (!Array.isArray(parsed) || parsed.length > 100)
    throw new ConfigError(`NEXUS_MASK_PATTERNS must be an array of at most 100 patterns; ${fix}.`);
  return parsed.map((item, index) => {
    const { kind, pattern } =
      typeof item === 'string'
        ? { kind: 'custom', pattern: item }
        : typeof item === 'object' && item !== null
          ? (item as { kind?: unknown; pattern?: unknown })
          : { kind: undefined, pattern: undefined };
    if (typeof pattern !== 'string' || pattern === '' || pattern.length > 1000)
      throw new ConfigError(
        `NEXUS_MASK_PATTERNS[${index}] has no pattern (1 to 1000 characters); ${fix}.`,
      );
    if (typeof kind !== 'string' || !/^[a-z0-9-]{1,40}$/.test(kind))
      throw new ConfigError(
        `NEXUS_MASK_PATTERNS[${index}].kind must be 1 to 40 lowercase letters, digits or "-"; ${fix}.`,
      );
    let compiled: RegExp;
    try {
      compiled = new RegExp(pattern, 'g');
    } catch (error) {
      throw new ConfigError(
        `NEXUS_MASK_PATTERNS[${index}] is not a valid regular expression (${(error as Error).message}); ${fix}.`,
      );
    }
    if (compiled.test(''))
      throw new ConfigError(
        `NEXUS_MASK_PATTERNS[${index}] matches empty text, so it would mask nothing useful; ${fix}.`,
      );
    return { kind, pattern: compiled };
  });
}

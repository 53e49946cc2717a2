/**
 * Kubernetes label selectors: the string form used in list/watch queries (`a=b,c in (x,y),!d`)
 * and the structured form used in API objects (matchLabels / matchExpressions).
 */
export type Labels = Readonly<Record<string, string>> | undefined;

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type Matcher = (labels: Labels) => boolean;

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A qualified name: optional DNS-subdomain prefix (at most 253 characters) and a name of at most 63. */
function isValidKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  return KEY.test(key) && key.length - slash - 1 <= 63 && (slash < 0 || slash <= 253);
}

function checkValue(value: string, key: string): string {
  if (value.length > 63 || !VALUE.test(value)) {
    throw new SelectorError(`invalid label value "${value}" for key "${key}"`);
  }
  return value;
}

function requirementMatches(req: LabelSelectorRequirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.operator) {
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'In':
      return has && (req.values ?? []).includes(value as string);
    case 'NotIn':
      return !has || !(req.values ?? []).includes(value as string);
  }
}

/** Compiles a structured selector. An empty selector matches everything (as in Deployments); null/undefined too. */
export function compileLabelSelector(selector: LabelSelector | undefined | null): Matcher {
  const reqs = toRequirements(selector ?? {});
  return (labels) => reqs.every((r) => requirementMatches(r, labels));
}

export function toRequirements(selector: LabelSelector): LabelSelectorRequirement[] {
  const reqs: LabelSelectorRequirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    reqs.push({ key: checkKey(key), operator: 'In', values: [checkValue(value, key)] });
  }
  for (const expr of selector.matchExpressions ?? []) {
    checkKey(expr.key);
    const needsValues = expr.operator === 'In' || expr.operator === 'NotIn';
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(expr.operator)) {
      throw new SelectorError(`unknown operator "${expr.operator}" for key "${expr.key}"`);
    }
    if (needsValues && !expr.values?.length) {
      throw new SelectorError(`operator ${expr.operator} for key "${expr.key}" needs at least one value`);
    }
    if (!needsValues && expr.values?.length) {
      throw new SelectorError(`operator ${expr.operator} for key "${expr.key}" takes no values`);
    }
    for (const v of expr.values ?? []) checkValue(v, expr.key);
    reqs.push(expr);
  }
  return reqs;
}

/** Parses the string form, as accepted by `kubectl -l` and the `labelSelector` query parameter. */
export function parseLabelSelector(text: string): Matcher {
  const reqs: LabelSelectorRequirement[] = [];
  // Only the whole selector may be empty: like Kubernetes, `a,,b` and `a,` are errors.
  for (const part of text.trim() ? splitTopLevel(text) : []) {
    const term = part.trim();
    if (!term) throw new SelectorError(`empty term in label selector "${text}"`);
    let m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (m) {
      const key = checkKey(m[1]!);
      const values = m[3]!.split(',').map((v) => checkValue(v.trim(), key));
      reqs.push({ key, operator: m[2] === 'in' ? 'In' : 'NotIn', values });
      continue;
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) {
      const key = checkKey(m[1]!);
      reqs.push({ key, operator: m[2] === '!=' ? 'NotIn' : 'In', values: [checkValue(m[3]!, key)] });
      continue;
    }
    m = /^(!?)\s*([^=!\s()]+)$/.exec(term);
    if (m) {
      reqs.push({ key: checkKey(m[2]!), operator: m[1] ? 'DoesNotExist' : 'Exists' });
      continue;
    }
    throw new SelectorError(`cannot parse label selector term "${term}"`);
  }
  return (labels) => reqs.every((r) => requirementMatches(r, labels));
}

function checkKey(key: string): string {
  if (!isValidKey(key)) throw new SelectorError(`invalid label key "${key}"`);
  return key;
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

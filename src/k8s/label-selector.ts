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
    reqs.push({ key, operator: 'In', values: [value] });
  }
  for (const expr of selector.matchExpressions ?? []) {
    if (!KEY.test(expr.key)) throw new SelectorError(`invalid label key "${expr.key}"`);
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
    reqs.push(expr);
  }
  return reqs;
}

/** Parses the string form, as accepted by `kubectl -l` and the `labelSelector` query parameter. */
export function parseLabelSelector(text: string): Matcher {
  const reqs: LabelSelectorRequirement[] = [];
  for (const part of splitTopLevel(text)) {
    const term = part.trim();
    if (!term) continue;
    let m = /^(\S+?)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const values = m[3]!.split(',').map((v) => v.trim());
      reqs.push({ key: checkKey(m[1]!), operator: m[2] === 'in' ? 'In' : 'NotIn', values });
      continue;
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) {
      reqs.push({ key: checkKey(m[1]!), operator: m[2] === '!=' ? 'NotIn' : 'In', values: [m[3]!] });
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
  if (!KEY.test(key)) throw new SelectorError(`invalid label key "${key}"`);
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

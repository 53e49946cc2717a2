import { compileLabelSelector, type Matcher, SelectorError } from '../k8s/label-selector.js';

/** One problem with one field, e.g. `spec.addresses[1]: "203.0.113.5/24" has host bits set …`. */
export interface FieldError {
  field: string;
  message: string;
}

export const formatFieldError = (e: FieldError): string => `${e.field}: ${e.message}`;

/**
 * Compiles a list of label selectors (any one matching selects), reporting duplicates and invalid
 * selectors as errors of their field. Undefined when the list is absent or empty.
 */
export function compileSelectors(list: unknown, field: string, errors: FieldError[]): Matcher[] | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) {
    errors.push({ field, message: 'must be a list of label selectors' });
    return undefined;
  }
  const seen = new Set<string>();
  const out: Matcher[] = [];
  for (const [i, selector] of list.entries()) {
    const canonical = JSON.stringify(selector);
    if (seen.has(canonical))
      errors.push({ field: `${field}[${i}]`, message: 'duplicates an earlier selector' });
    seen.add(canonical);
    try {
      out.push(compileLabelSelector(selector));
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      errors.push({ field: `${field}[${i}]`, message: err.message });
    }
  }
  return out.length > 0 ? out : undefined;
}

/** Reports names listed more than once (`"x" is listed twice`) and entries that are not strings. */
export function checkNameList(list: unknown, field: string, errors: FieldError[]): string[] | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) {
    errors.push({ field, message: 'must be a list of names' });
    return undefined;
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const [i, name] of list.entries()) {
    if (typeof name !== 'string' || name === '') {
      errors.push({
        field: `${field}[${i}]`,
        message: `must be a non-empty string, not ${JSON.stringify(name)}`,
      });
      continue;
    }
    if (seen.has(name)) errors.push({ field: `${field}[${i}]`, message: `"${name}" is listed twice` });
    seen.add(name);
    out.push(name);
  }
  return out;
}

/**
 * Kubernetes' `$(VAR)` expansion of command, args and env values (third_party/forked/golang/expansion):
 * `$(NAME)` becomes the value of NAME, `$$` becomes a literal `$` (so `$$(NAME)` yields `$(NAME)`),
 * references to unknown names and unterminated `$(` stay as written, any other `$` is kept.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else {
      out += `$${next}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** expandVars over a map of the variables defined so far. */
export function expandWith(input: string, vars: Readonly<Record<string, string>>): string {
  return expandVars(input, (name) => (Object.hasOwn(vars, name) ? vars[name] : undefined));
}

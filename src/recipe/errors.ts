// Recipe errors are values until the CLI prints them: one line each, `file:line:col: field: message`.

export type FieldPath = Array<string | number>;

export function formatPath(path: FieldPath): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s ? `.${p}` : p;
  return s || "(recipe)";
}

/** Recipe values are quoted in messages: escape line breaks and control characters so each stays one line. */
export function oneLine(s: string): string {
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

export class RecipeError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly path: FieldPath,
    readonly detail: string,
    readonly hint?: string,
  ) {
    super(oneLine(`${file}${line > 0 ? `:${line}:${column}` : ""}: ${formatPath(path)}: ${detail}${hint ? ` (${hint})` : ""}`));
    this.name = "RecipeError";
  }
}

/** Several recipe errors at once, so a user fixes them in one pass. */
export class RecipeErrors extends Error {
  constructor(readonly errors: RecipeError[]) {
    super(errors.map((e) => e.message).join("\n"));
    this.name = "RecipeErrors";
  }
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The closest candidate if it is plausibly a typo of `word`. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

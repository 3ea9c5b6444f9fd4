/**
 * Where a JSON text stops being JSON (RFC 8259): the offset of the first character a parser
 * cannot accept. V8's JSON.parse names the position for some errors but not others ("Unexpected
 * token ',', … is not valid JSON"), so the config center finds it itself to report a line and a
 * column for every error. Pure; a recursive descent over the grammar, depth-bounded like the
 * input (1 MiB) is.
 */

/** @returns the 0-based offset of the first invalid character (text.length: it ends too early), or -1 when `text` is JSON. */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const digits = () => {
    if (!(text[i] >= "0" && text[i] <= "9")) fail();
    while (text[i] >= "0" && text[i] <= "9") i++;
  };
  const number = () => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else digits();
    if (text[i] === ".") {
      i++;
      digits();
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      digits();
    }
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail();
      const ch = text[i];
      if (ch === '"') {
        i++;
        return;
      }
      if (ch < " ") fail();
      if (ch === "\\") {
        i++;
        const escaped = text[i];
        if (escaped === "u") {
          for (let k = 1; k <= 4; k++) {
            i++;
            if (!/^[0-9a-fA-F]$/.test(text[i] ?? "")) fail();
          }
        } else if (escaped === undefined || !'"\\/bfnrt'.includes(escaped)) fail();
      }
      i++;
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail();
      }
    }
    if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail();
      }
    }
    if (ch === '"') string();
    else if (ch === "t") literal("true");
    else if (ch === "f") literal("false");
    else if (ch === "n") literal("null");
    else if (ch === "-" || (ch >= "0" && ch <= "9")) number();
    else fail();
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (offset) {
    if (typeof offset === "number") return offset;
    // Nesting deeper than the stack: JSON.parse's message stands, located at the start.
    return 0;
  }
}

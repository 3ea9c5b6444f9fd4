/**
 * The #1677 rebase of a `properties` gray (docs/config-center.md): the gray's own changes — keys
 * it set to a new value or added, keys it removed, each relative to the main release it branched
 * from — are re-applied to the new main content. Lines of the new main are kept as written
 * (comments, order); a changed key's line is rewritten, a removed key's line dropped, an added
 * key appended. Pure (dot-properties parses and writes the pairs).
 */
import { parse, parseLines, stringify } from "dot-properties";

/** What a gray changed relative to its base: keys set (new or changed value) and keys removed. */
export interface PropertiesChanges {
  set: Record<string, string>;
  removed: string[];
}

/** The gray's changes: `gray` against `base` (both .properties texts). */
export function propertiesChanges(base: string, gray: string): PropertiesChanges {
  const before = parse(base) as Record<string, string>;
  const after = parse(gray) as Record<string, string>;
  const set: Record<string, string> = {};
  for (const [key, value] of Object.entries(after)) if (before[key] !== value) set[key] = value;
  const removed = Object.keys(before).filter((key) => !(key in after));
  return { set, removed };
}

/** `main` with `changes` applied (see the module comment). */
export function applyPropertiesChanges(main: string, changes: PropertiesChanges): string {
  const removed = new Set(changes.removed);
  const pending = new Map(Object.entries(changes.set));
  const lines: string[] = [];
  for (const node of parseLines(main, true)) {
    const [start] = node.range;
    const end = node.range[node.range.length - 1];
    const text = main.slice(start, end);
    if (node.type !== "PAIR") {
      lines.push(text);
      continue;
    }
    const key = (node as unknown as { key: string }).key;
    if (removed.has(key) && !pending.has(key)) continue;
    if (changes.set[key] !== undefined) {
      // Every occurrence of a repeated key is rewritten: the last one is what parsers read.
      lines.push(pairLine(key, changes.set[key]));
      pending.delete(key);
      continue;
    }
    lines.push(text);
  }
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (const [key, value] of pending) lines.push(pairLine(key, value));
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** Rebases a gray: its changes since `oldBase` applied to `newMain`. */
export function rebaseProperties(oldBase: string, gray: string, newMain: string): string {
  return applyPropertiesChanges(newMain, propertiesChanges(oldBase, gray));
}

function pairLine(key: string, value: string): string {
  // `key=value`, the usual .properties style (dot-properties writes `key = value` by default).
  return stringify({ [key]: value }, { lineWidth: null, keySep: "=" }).replace(/\n$/, "");
}

/**
 * A release's content as the application sees it, by the namespace's format
 * (docs/config-center.md "Formats and validation"): `properties` → an object of strings
 * (`dot-properties`, Java .properties semantics), `json` → JSON.parse, `yaml` → the `yaml`
 * package (YAML 1.2 core schema, one document), `text` → the string itself. Pure.
 */
import { parse as parseProperties } from "dot-properties";
import { parse as parseYaml } from "yaml";
import type { ConfigFormat } from "./wire.ts";

/** What `get(namespace)` returns, by format. */
export interface ConfigValueByFormat {
  properties: Record<string, string>;
  json: unknown;
  yaml: unknown;
  text: string;
}

/**
 * Parses `content` as `format`.
 * @throws Error (SyntaxError for JSON, YAMLParseError for YAML) when the content does not parse;
 *   control validates at write, so this means a corrupted or foreign content.
 */
export function parseContent<F extends ConfigFormat>(format: F, content: string): ConfigValueByFormat[F] {
  switch (format) {
    case "properties":
      return parseProperties(content) as ConfigValueByFormat[F];
    case "json":
      return JSON.parse(content) as ConfigValueByFormat[F];
    case "yaml":
      return parseYaml(content, { schema: "core" }) as ConfigValueByFormat[F];
    default:
      return content as ConfigValueByFormat[F];
  }
}

/** The file extension the agent writes a namespace of `format` with (`DIR/<namespace>.<ext>`). */
export function extensionOf(format: ConfigFormat): string {
  return format === "text" ? "txt" : format;
}

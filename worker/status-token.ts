/**
 * The status document's bearer check. Runtime-neutral (no node:crypto, no workerd-only
 * timingSafeEqual): both values are compared byte for byte over their whole length, so the time
 * taken does not depend on where they first differ; only the length can show.
 */
const encoder = new TextEncoder();

/** Whether an Authorization field is `Bearer <token>`, compared in constant time. */
export function bearerMatches(authorization: string | null, token: string): boolean {
  const presented = encoder.encode(/^Bearer (.+)$/.exec(authorization ?? "")?.[1] ?? "");
  const expected = encoder.encode(token);
  let difference = presented.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) difference |= expected[i]! ^ (presented[i] ?? 0);
  return difference === 0 && expected.length > 0;
}

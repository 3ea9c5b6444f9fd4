/**
 * The gateway's request attributes beyond query, header and cookie (worker/): the client
 * address under the trusted-proxy rule, body values from JSON and form bodies, the capped body
 * read that still forwards every byte, Cloudflare's request.cf fields, and the consumer an auth
 * plugin recognised (request.consumer), also through the hot path's decide().
 */
import { describe, expect, it } from "vitest";
import { Source } from "../../wasm/snapshot-info.ts";
import { readBodyPrefix } from "../../worker/body.ts";
import { bodyLookup } from "../../worker/body-attributes.ts";
import { clientIp, connectionPeer, parseClientIpRule } from "../../worker/client-ip.ts";
import { consumerAttribute, RequestAttributes, type RequestConsumer } from "../../worker/request-attributes.ts";
import { group, instance, instantiate, policy, route, write } from "../support/wasm-fixtures.ts";

describe("client address (request.ip)", () => {
  const rule = parseClientIpRule("10.0.0.0/8, 127.0.0.1, fd00::/8", undefined);
  const h = (xff?: string, cfConnectingIp?: string) => {
    const headers = new Headers();
    if (xff) headers.set("x-forwarded-for", xff);
    if (cfConnectingIp) headers.set("cf-connecting-ip", cfConnectingIp);
    return headers;
  };
  // [case, X-Forwarded-For, request.cf, CF-Connecting-IP, want]
  const cases: [string, string | undefined, object | undefined, string | undefined, string | undefined][] = [
    ["untrusted peer: the peer, whatever the header says", "203.0.113.9", { clientIp: "198.51.100.1:4000" }, undefined, "198.51.100.1"],
    ["trusted peer: the last untrusted hop", "203.0.113.9, 198.51.100.4", { clientIp: "10.0.0.5:4000" }, undefined, "198.51.100.4"],
    ["trusted hops are skipped", "203.0.113.9, 10.1.1.1, 127.0.0.1", { clientIp: "127.0.0.1:1" }, undefined, "203.0.113.9"],
    ["all trusted: the leftmost", "10.0.0.1, 10.0.0.2", { clientIp: "10.0.0.3:1" }, undefined, "10.0.0.1"],
    ["junk ends the walk at the last address read", "garbage, 203.0.113.9", { clientIp: "10.0.0.3:1" }, undefined, "203.0.113.9"],
    ["junk right at the end: the trusted peer", "203.0.113.9, garbage", { clientIp: "10.0.0.3:1" }, undefined, "10.0.0.3"],
    ["trusted peer without the header", undefined, { clientIp: "10.0.0.3:1" }, undefined, "10.0.0.3"],
    ["IPv6 peer in brackets", undefined, { clientIp: "[2001:db8::1]:443" }, undefined, "2001:db8::1"],
    ["IPv4-mapped peer reported as IPv4", undefined, { clientIp: "[::ffff:198.51.100.1]:443" }, undefined, "198.51.100.1"],
    ["canonical IPv6 text", "2001:DB8:0:0:0:0:0:1", { clientIp: "[fd00::1]:1" }, undefined, "2001:db8::1"],
    [
      "Cloudflare (request.cf.colo): CF-Connecting-IP is the peer",
      undefined,
      { colo: "FRA", country: "DE" },
      "203.0.113.50",
      "203.0.113.50",
    ],
    [
      "self-hosted workerd: CF-Connecting-IP from the client is ignored",
      undefined,
      { clientIp: "198.51.100.1:4000" },
      "9.9.9.9",
      "198.51.100.1",
    ],
    ["no request.cf at all (Bun, Deno): CF-Connecting-IP is ignored", undefined, undefined, "9.9.9.9", undefined],
    ["no peer, no header: unknown", "203.0.113.9", undefined, undefined, undefined],
    ["a peer that is not canonical text (leading zero): unknown", undefined, { clientIp: "198.051.100.1:4000" }, undefined, undefined],
    ["an IPv4 peer without a port", undefined, { clientIp: "198.51.100.1" }, undefined, "198.51.100.1"],
  ];
  for (const [name, xff, cf, cfConnectingIp, want] of cases) {
    it(name, () => {
      const headers = h(xff, cfConnectingIp);
      expect(clientIp(rule, headers, connectionPeer(headers, cf))).toBe(want);
    });
  }
  it("refuses a malformed TRUSTED_PROXIES entry at start", () => {
    expect(() => parseClientIpRule("10.0.0.0/8, 10.0.0", undefined)).toThrow(/TRUSTED_PROXIES: "10.0.0"/);
    expect(() => parseClientIpRule("10.0.0.0/33", undefined)).toThrow(/TRUSTED_PROXIES/);
  });
  it("reads another header when told to", () => {
    const r = parseClientIpRule("127.0.0.1", "X-Real-IP");
    expect(clientIp(r, new Headers({ "x-real-ip": "203.0.113.1" }), "127.0.0.1:5")).toBe("203.0.113.1");
  });
});

describe("body values", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it("reads JSON by dotted path; numbers keep their source text, beyond 2^53 too", () => {
    const get = bodyLookup(
      enc('{"user": {"id": 12345678901234567890, "name": "é", "vip": true, "tags": ["a", "b"], "none": null}, "a.b": "flat", "n": -1.50}'),
      "application/json; charset=utf-8",
    );
    expect(get("user.id")).toBe("12345678901234567890");
    expect(get("user.name")).toBe("é");
    expect(get("user.vip")).toBe("true");
    expect(get("user.tags.1")).toBe("b");
    expect(get("user.tags")).toBeUndefined(); // arrays and objects are not values
    expect(get("user")).toBeUndefined();
    expect(get("user.none")).toBeUndefined();
    expect(get("user.missing")).toBeUndefined();
    expect(get("a.b")).toBe("flat"); // a top-level key with a dot
    expect(get("n")).toBe("-1.50");
    expect(get("__proto__")).toBeUndefined();
  });
  it("reads forms by field name, first value", () => {
    const get = bodyLookup(enc("regionId=110105&regionId=2&x=%E5%BF%AB+1"), "application/x-www-form-urlencoded");
    expect(get("regionId")).toBe("110105");
    expect(get("x")).toBe("快 1");
  });
  it("malformed JSON, other media types and a body over the cap: absent, not an error", () => {
    expect(bodyLookup(enc('{"a": '), "application/json")("a")).toBeUndefined();
    expect(bodyLookup(enc("a=1"), "text/plain")("a")).toBeUndefined();
    expect(bodyLookup(null, "application/json")("a")).toBeUndefined();
    expect(bodyLookup(enc('{"a": "1"}'), "application/vnd.api+json")("a")).toBe("1");
  });
});

describe("the capped body read", () => {
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    new Request("http://a.test/", { method: "POST", body, headers, duplex: "half" } as RequestInit);
  const drain = async (forward: ReadableStream<Uint8Array> | Uint8Array | null) =>
    forward === null ? new Uint8Array() : new Uint8Array(await new Response(forward as BodyInit).arrayBuffer());

  it("a body within the cap is read whole and forwarded as the same bytes", async () => {
    const bytes = new TextEncoder().encode('{"a": 1}');
    const r = await readBodyPrefix(post(bytes), 64);
    expect(r.bytes).toEqual(bytes);
    expect(await drain(r.forward)).toEqual(bytes);
  });

  it("a longer streamed body: nothing for attributes, every byte forwarded in order", async () => {
    const parts = Array.from({ length: 50 }, (_, i) => new Uint8Array(100).fill(i));
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = parts.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    const r = await readBodyPrefix(post(stream), 1000);
    expect(r.bytes).toBeNull();
    const out = await drain(r.forward);
    expect(out.length).toBe(5000);
    for (let i = 0; i < 50; i++) expect(out[i * 100]).toBe(i);
  });

  it("a Content-Length above the cap is not read at all", async () => {
    const req = post(new Uint8Array(2000), { "content-length": "2000" });
    const r = await readBodyPrefix(req, 1000);
    expect(r.bytes).toBeNull();
    expect(r.forward).toBe(req.body);
  });
});

describe("RequestAttributes", () => {
  const rule = parseClientIpRule(undefined, undefined);
  it("reads request.cf fields (Cloudflare) and the body once set", () => {
    const a = new RequestAttributes(
      new URL("http://a.test/x"),
      "POST",
      new Headers({ "content-type": "application/json" }),
      {
        country: "CN",
        colo: "HKG",
        asn: 4134,
        clientIp: "198.51.100.7:1234",
      },
      rule,
    );
    expect(a.attribute(Source.CF, "country")).toBe("CN");
    expect(a.attribute(Source.CF, "asn")).toBe("4134");
    expect(a.attribute(Source.CF, "region")).toBeUndefined();
    expect(a.attribute(Source.CLIENT, "ip")).toBe("198.51.100.7");
    expect(a.attribute(Source.BODY, "id")).toBeUndefined();
    a.setBody(new TextEncoder().encode('{"id": 7}'));
    expect(a.attribute(Source.BODY, "id")).toBe("7");
  });
  it("self-hosted workerd has no request.cf country: absent", () => {
    const a = new RequestAttributes(new URL("http://a.test/x"), "GET", new Headers(), undefined, rule);
    expect(a.attribute(Source.CF, "country")).toBeUndefined();
    expect(a.attribute(Source.CLIENT, "ip")).toBeUndefined();
  });
});

describe("the consumer (request.consumer)", () => {
  const alice: RequestConsumer = { name: "alice", labels: { tier: "gold", "a.b": "dotted", empty: "" } };
  // [consumer, attribute name, want]
  const cases: [RequestConsumer | null, string, string | undefined][] = [
    [alice, "name", "alice"],
    [alice, "labels.tier", "gold"],
    [alice, "labels.a.b", "dotted"],
    [alice, "labels.empty", ""],
    [alice, "labels.team", undefined],
    [alice, "labels.constructor", undefined], // own labels only, not the prototype's
    [alice, "labels", undefined],
    [alice, "tier", undefined],
    [null, "name", undefined],
    [null, "labels.tier", undefined],
  ];
  for (const [consumer, name, want] of cases) {
    it(`${consumer?.name ?? "no consumer"}: ${name} → ${want === undefined ? "absent" : JSON.stringify(want)}`, () => {
      expect(consumerAttribute(consumer, name)).toBe(want);
    });
  }

  it("is absent until an auth plugin sets it, then read by Source.CONSUMER", () => {
    const a = new RequestAttributes(new URL("http://a.test/x"), "GET", new Headers(), undefined, parseClientIpRule(undefined, undefined));
    expect(a.consumer).toBeNull();
    expect(a.attribute(Source.CONSUMER, "name")).toBeUndefined();
    a.consumer = alice;
    expect(a.attribute(Source.CONSUMER, "name")).toBe("alice");
    expect(a.attribute(Source.CONSUMER, "labels.tier")).toBe("gold");
  });

  it("routes through the hot path: a policy on the consumer's label, keyed on its name", async () => {
    const { hot } = await instantiate();
    const file = write(
      {
        groups: [group(1, "main", [instance(1, 1)]), group(2, "gold", [instance(2, 1)])],
        policies: [policy(1, 'request.consumer.labels.tier == "gold" || has(request.consumer.labels.vip)', "gold", { key: "uid" })],
        routes: [route(1, "*", "/", { policies: ["p1"] })],
      },
      1n,
    );
    expect(hot.load(file).ok).toBe(true);
    const decide = (consumer: RequestConsumer | null) => {
      const a = new RequestAttributes(
        new URL("http://a.test/x?uid=7"),
        "GET",
        new Headers(),
        undefined,
        parseClientIpRule(undefined, undefined),
      );
      a.consumer = consumer;
      const r = hot.decide(a);
      return { group: hot.snapshot.groups[r.group]?.name, errors: r.conditionErrors };
    };
    expect(decide(alice)).toEqual({ group: "gold", errors: 0 });
    expect(decide({ name: "bob", labels: { tier: "silver" } })).toEqual({ group: "main", errors: 0 });
    expect(decide({ name: "carol", labels: { vip: "" } })).toEqual({ group: "gold", errors: 0 }); // tier absent errs, vip decides
    expect(decide({ name: "dave", labels: {} })).toEqual({ group: "main", errors: 1 }); // tier absent: an error
    expect(decide(null)).toEqual({ group: "main", errors: 1 }); // not authenticated: absent
  });
});

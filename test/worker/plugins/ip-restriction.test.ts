/**
 * ip-restriction with APISIX's semantics, t/plugin/ip-restriction.t re-expressed as tables: allow
 * (whitelist) and deny (blacklist) lists of IPv4 / IPv6 addresses and CIDRs, on `request.ip`
 * under the trusted-proxy rule (APISIX's tests set `set_real_ip_from 127.0.0.1` and
 * `real_ip_header X-Forwarded-For`: here TRUSTED_PROXIES=127.0.0.1 with the peer 127.0.0.1), the
 * custom message, deny before allow, and an unknown client address.
 */
import { describe, expect, it } from "vitest";
import type { IpRestrictionPlugin } from "../../../wasm/plugins-section.ts";
import { createIpRestriction, ipAllowed, parsePrefixList } from "../../../worker/plugins/ip-restriction.ts";
import { pluginContext, runAccess } from "./plugin-context.ts";

const MESSAGE = "Your IP address is not allowed";
const WHITELIST = ["127.0.0.0/24", "113.74.26.106"]; // TEST 7
const BLACKLIST_V6 = ["::1", "fe80::/32"]; // TEST 20

// [case, allow, deny, X-Forwarded-For (from the trusted peer 127.0.0.1), or a peer of its own, allowed?]
const cases: [string, string[], string[], { xff?: string; peer?: string }, boolean][] = [
  ["TEST 8: peer in the whitelist CIDR", WHITELIST, [], {}, true],
  ["TEST 9: forwarded address in the whitelist", WHITELIST, [], { xff: "113.74.26.106" }, true],
  ["TEST 10: forwarded address not in the whitelist", WHITELIST, [], { xff: "114.114.114.114" }, false],
  ["TEST 11: IPv6 not in an IPv4 whitelist", WHITELIST, [], { xff: "2001:db8::2" }, false],
  ["TEST 13: peer in the blacklist CIDR", [], WHITELIST, {}, false],
  ["TEST 14: forwarded address in the blacklist", [], WHITELIST, { xff: "113.74.26.106" }, false],
  ["TEST 15: forwarded address not in the blacklist", [], WHITELIST, { xff: "114.114.114.114" }, true],
  ["TEST 16: IPv6 not in an IPv4 blacklist", [], WHITELIST, { xff: "2001:db8::2" }, true],
  ["TEST 21: IPv4 peer not in an IPv6 blacklist", [], BLACKLIST_V6, {}, true],
  ["TEST 22: ::1 in the IPv6 blacklist", [], BLACKLIST_V6, { xff: "::1" }, false],
  ["TEST 23: fe80::1:1 in fe80::/32", [], BLACKLIST_V6, { xff: "fe80::1:1" }, false],
  ["fe80:1::1 outside fe80::/32", [], BLACKLIST_V6, { xff: "fe80:1::1" }, true],
  ["IPv6 whitelist CIDR, address inside", ["2001:db8::/32"], [], { xff: "2001:db8:ffff::9" }, true],
  ["IPv6 whitelist CIDR, address outside", ["2001:db8::/32"], [], { xff: "2001:db9::1" }, false],
  ["IPv4-mapped client is IPv4 (client-ip.ts)", ["10.0.0.0/8"], [], { peer: "[::ffff:10.1.2.3]:4000" }, true],
  ["/0 allows every IPv4", ["0.0.0.0/0"], [], { peer: "203.0.113.1:1" }, true],
  ["non-octet prefix /20", ["10.0.16.0/20"], [], { peer: "10.0.31.255:1" }, true],
  ["non-octet prefix /20, just outside", ["10.0.16.0/20"], [], { peer: "10.0.32.0:1" }, false],
  ["deny first: in both lists → denied", ["10.0.0.0/8"], ["10.9.0.0/16"], { peer: "10.9.1.1:1" }, false],
  ["deny then allow: not denied, allowed", ["10.0.0.0/8"], ["10.9.0.0/16"], { peer: "10.8.1.1:1" }, true],
  ["deny then allow: not denied, not allowed", ["10.0.0.0/8"], ["10.9.0.0/16"], { peer: "11.0.0.1:1" }, false],
  ["unknown client address with an allow list → 403", ["0.0.0.0/0", "::/0"], [], { peer: "not-an-address" }, false],
  ["unknown client address with a deny list only → on", [], ["0.0.0.0/0"], { peer: "not-an-address" }, true],
];

describe("ip-restriction (APISIX t/plugin/ip-restriction.t)", () => {
  it.each(cases)("%s", async (_, allow, deny, from, allowed) => {
    const config: IpRestrictionPlugin = { allow, deny, message: MESSAGE };
    const c = pluginContext({
      peer: from.peer ?? "127.0.0.1:5000",
      trustedProxies: "127.0.0.1",
      headers: from.xff ? { "x-forwarded-for": from.xff } : {},
    });
    const answer = await runAccess(createIpRestriction(config), c);
    if (allowed) expect(answer).toBeNull();
    else
      expect(answer && { status: answer.status, body: answer.body }).toEqual({
        status: 403,
        body: { error: "forbidden", message: MESSAGE },
      });
  });

  it("TEST 26–30: the user-defined message", async () => {
    const plugin = createIpRestriction({ allow: ["10.0.0.0/8"], deny: [], message: "Do you know where you are?" });
    const answer = await runAccess(plugin, pluginContext({ peer: "114.114.114.114:1" }));
    expect(answer?.body).toEqual({ error: "forbidden", message: "Do you know where you are?" });
  });

  it("a request without a known address (no peer) is refused by an allow list only", () => {
    expect(ipAllowed(parsePrefixList(["0.0.0.0/0"]), [], undefined)).toBe(false);
    expect(ipAllowed([], parsePrefixList(["0.0.0.0/0"]), undefined)).toBe(true);
  });

  it("answers synchronously", () => {
    const answer = createIpRestriction({ allow: [], deny: ["127.0.0.1"], message: MESSAGE }).access(pluginContext({ peer: "127.0.0.1:1" }));
    expect(answer).toBeInstanceOf(Response);
  });

  it("TEST 2/3/24: an entry that is not a CIDR is refused when the plugin is built", () => {
    for (const bad of ["10.255.256.0/24", "10.255.254.0/38", "::ffgg"]) {
      expect(() => createIpRestriction({ allow: [bad], deny: [], message: MESSAGE }), bad).toThrow(bad);
    }
  });
});

import { BlockList, isIP } from 'node:net';

/**
 * Which hops in front of this server may be believed when they write X-Forwarded-For: a number of
 * proxies (the socket peer is the first), or the addresses and CIDR ranges of the proxies.
 * `{ hops: 0 }` believes no one: the socket peer is the client.
 */
export type ProxyTrust = { hops: number } | { proxies: readonly string[] };

const MAX_HOPS = 32;

/**
 * Reads TRUST_PROXY: `false`/`true` (one hop), a hop count, or a comma-separated list of proxy
 * addresses and CIDR ranges. Throws an Error saying what is wrong.
 */
export function parseProxyTrust(value: string): ProxyTrust {
  const text = value.trim().toLowerCase();
  if (['false', 'no', 'off', ''].includes(text)) return { hops: 0 };
  if (['true', 'yes', 'on'].includes(text)) return { hops: 1 };
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > MAX_HOPS) throw new Error(`expected at most ${MAX_HOPS} hops`);
    return { hops };
  }
  const proxies = text.split(',').map((entry) => entry.trim());
  for (const entry of proxies) {
    if (!parseRange(entry)) {
      throw new Error(`expected true, false, a hop count, or addresses and CIDR ranges; "${entry}" is none of them`);
    }
  }
  return { proxies };
}

/**
 * How a request's client address is found from the socket peer and X-Forwarded-For. Each proxy
 * appends the address it received the request from, so the header is read from the right: past
 * each trusted hop to the address that hop saw. Everything further left was written by the client
 * and is never believed. A hop that cannot be read stops the walk at the proxy that wrote it.
 */
export function clientAddressResolver(trust: ProxyTrust): (peer: string, forwardedFor: string | undefined) => string {
  const trusted = trustTest(trust);
  return (peer, forwardedFor) => {
    let client = normalizeAddress(peer) ?? peer;
    if (!forwardedFor) return client;
    const hops = forwardedFor.split(',').reverse();
    for (const [index, hop] of hops.entries()) {
      if (!trusted(client, index)) break;
      const next = normalizeAddress(hop);
      if (!next) break;
      client = next;
    }
    return client;
  };
}

function trustTest(trust: ProxyTrust): (address: string, index: number) => boolean {
  if ('hops' in trust) return (_address, index) => index < trust.hops;
  const list = new BlockList();
  for (const entry of trust.proxies) {
    const range = parseRange(entry);
    if (range) list.addSubnet(range.address, range.prefix, range.family);
  }
  return (address) => list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

function parseRange(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return null;
  const maxPrefix = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (prefix > maxPrefix) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * An address as one key: IPv4 written as IPv6 (`::ffff:1.2.3.4`) becomes plain IPv4, a port some
 * proxies append (`1.2.3.4:5678`, `[::1]:80`) is dropped. Null for anything that is not an address.
 */
function normalizeAddress(raw: string): string | null {
  let text = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed?.[1]) text = bracketed[1];
  else if (/^[\d.]+:\d{1,5}$/.test(text)) text = text.slice(0, text.indexOf(':'));
  const version = isIP(text);
  if (version === 0) return null;
  if (version === 4) return text;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  return mapped?.[1] ?? text.toLowerCase();
}

import { describe, expect, it } from 'vitest';
import { clientAddressResolver, parseProxyTrust } from './client-address';

describe('parseProxyTrust', () => {
  it.each([
    ['false', { hops: 0 }],
    ['0', { hops: 0 }],
    ['off', { hops: 0 }],
    ['true', { hops: 1 }],
    ['TRUE', { hops: 1 }],
    ['1', { hops: 1 }],
    ['2', { hops: 2 }],
    ['10.0.0.0/8, 127.0.0.1 ,::1,fd00::/8', { proxies: ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8'] }],
  ])('reads %s', (value, trust) => {
    expect(parseProxyTrust(value)).toEqual(trust);
  });

  it.each(['perhaps', '33', '10.0.0.0/33', '::1/129', '10.0.0.1/x', '10.0.0.0/8/8', '10.0.0.0/8,', 'proxy.internal'])(
    'refuses %s',
    (value) => {
      expect(() => parseProxyTrust(value)).toThrow(/expected/);
    },
  );
});

describe('clientAddressResolver', () => {
  const resolve = (trust: string, peer: string, forwardedFor?: string) =>
    clientAddressResolver(parseProxyTrust(trust))(peer, forwardedFor);

  it('without trust, is the socket peer whatever the header says', () => {
    expect(resolve('false', '203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
  });

  it('with one hop, is the rightmost entry: what the proxy saw, not what the client wrote', () => {
    expect(resolve('true', '10.0.0.2', '198.51.100.1')).toBe('198.51.100.1');
    expect(resolve('true', '10.0.0.2', '10.0.0.77, 127.0.0.1')).toBe('127.0.0.1');
    expect(resolve('true', '10.0.0.2', '1.1.1.1,2.2.2.2, 198.51.100.1')).toBe('198.51.100.1');
  });

  it('with n hops, is the n-th entry from the right, or the leftmost when there are fewer', () => {
    expect(resolve('2', '10.0.0.2', 'spoofed, 198.51.100.1, 10.0.0.3')).toBe('198.51.100.1');
    expect(resolve('3', '10.0.0.2', '198.51.100.1, 10.0.0.3')).toBe('198.51.100.1');
  });

  it('with proxy addresses, walks past every trusted hop and no further', () => {
    const proxies = '127.0.0.1, 10.0.0.0/8';
    expect(resolve(proxies, '127.0.0.1', 'spoofed, 198.51.100.1, 10.1.2.3, 10.0.0.3')).toBe('198.51.100.1');
    // A peer that is not a known proxy is the client, whatever it claims.
    expect(resolve(proxies, '203.0.113.9', '198.51.100.1')).toBe('203.0.113.9');
    // Every hop a trusted proxy: the furthest one known.
    expect(resolve(proxies, '10.0.0.2', '10.0.0.9, 10.0.0.3')).toBe('10.0.0.9');
    expect(resolve('::1, fd00::/8', '::1', '2001:db8::1, fd00::5')).toBe('2001:db8::1');
  });

  it('reads IPv4 written as IPv6, and ports some proxies append', () => {
    expect(resolve('false', '::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(resolve('127.0.0.1', '::ffff:127.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(resolve('true', '10.0.0.2', '198.51.100.1:5678')).toBe('198.51.100.1');
    expect(resolve('true', '10.0.0.2', '[2001:DB8::1]:443')).toBe('2001:db8::1');
  });

  it('stops at the proxy that handed on an entry it cannot read', () => {
    for (const header of ['garbage', '', ' , ', '198.51.100.1, ', '999.1.1.1', 'a'.repeat(10_000)]) {
      expect(resolve('true', '10.0.0.2', header)).toBe('10.0.0.2');
    }
    expect(resolve('2', '10.0.0.2', 'x, not-an-ip, 10.0.0.3')).toBe('10.0.0.3');
  });
});

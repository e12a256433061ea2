import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

interface AsymmetricKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * A Supabase project's JWT signing keys. Asymmetric projects sign with their newest ES256 key and
 * publish every key they have not revoked in the JWKS; legacy projects sign with one HS256 secret and
 * publish nothing (Supabase never exposes a symmetric key).
 */
export class SigningKeys {
  private readonly keys: AsymmetricKey[] = [];

  private constructor(private readonly legacySecret: Uint8Array | null) {}

  static async create(legacySecret?: string): Promise<SigningKeys> {
    if (legacySecret) return new SigningKeys(new TextEncoder().encode(legacySecret));
    const keys = new SigningKeys(null);
    await keys.rotate({ dropPrevious: false });
    return keys;
  }

  /** What `GET /.well-known/jwks.json` answers. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((key) => key.publicJwk) };
  }

  /** The kid new tokens carry; undefined on a legacy project. */
  get currentKid(): string | undefined {
    return this.keys.at(-1)?.kid;
  }

  async sign(payload: JWTPayload): Promise<string> {
    if (this.legacySecret) {
      return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(this.legacySecret);
    }
    const current = this.keys.at(-1);
    if (!current) throw new Error('the project has no signing key');
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'JWT' })
      .sign(current.privateKey);
  }

  /** Adds a key with a new kid and signs with it from now on; `dropPrevious` revokes the others. */
  async rotate({ dropPrevious }: { dropPrevious: boolean }): Promise<string> {
    if (this.legacySecret) throw new Error('a legacy HS256 project has no keys to rotate');
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const kid = randomUUID();
    // The fields Supabase's JWKS carries for each key.
    const publicJwk = {
      ...(await exportJWK(publicKey)),
      kid,
      alg: 'ES256',
      use: 'sig',
      key_ops: ['verify'],
      ext: true,
    };
    if (dropPrevious) this.keys.splice(0);
    this.keys.push({ kid, privateKey, publicJwk });
    return kid;
  }

  /** Verifies a token this project issued (for the endpoints that take a user's JWT); null if it is not one. */
  async verify(token: string, issuer: string, now: Date): Promise<JWTPayload | null> {
    const options = { issuer, audience: 'authenticated', currentDate: now };
    try {
      const { payload } = this.legacySecret
        ? await jwtVerify(token, this.legacySecret, { ...options, algorithms: ['HS256'] })
        : await jwtVerify(token, createLocalJWKSet(this.jwks()), { ...options, algorithms: ['ES256'] });
      return payload;
    } catch {
      return null;
    }
  }
}

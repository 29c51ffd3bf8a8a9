import { randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, importJWK, importPKCS8, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { AccessClaim } from './identity.js';

export const tokenIssuer = 'berth-token-issuer';
/** The service name clients echo back from the challenge; Harbor's, so Harbor scripts keep working. */
export const registryService = 'harbor-registry';

/** Leeway for clocks that differ between the instance that issued a token and the one checking it. */
export const tokenClockToleranceMs = 60_000;

export interface TokenClaims {
  /** The user or robot name the token was issued to; empty for an anonymous caller (as in Harbor). */
  subject: string;
  access: AccessClaim[];
  /** Unix seconds. */
  expiresAt: number;
  /** Unix seconds; undefined when the token does not say. */
  issuedAt: number | undefined;
}

export interface IssuedToken {
  token: string;
  expires_in: number;
  issued_at: string;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

/**
 * Issues and verifies the registry's JWTs (RS256) with one private key (PKCS#8 PEM; see
 * signing-key.ts for where it comes from). Every instance that shares the key accepts
 * every other's tokens.
 */
export class TokenService {
  private readonly verified = new LRUCache<string, TokenClaims>({ max: 10_000 });

  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly kid: string,
    private readonly lifetime: number | (() => number),
  ) {}

  /** Lifetime of a token issued now: a function follows the token_expiration setting as it changes. */
  get lifetimeSeconds(): number {
    return typeof this.lifetime === 'function' ? this.lifetime() : this.lifetime;
  }

  static async open(options: { pem: string; lifetimeSeconds: number | (() => number) }): Promise<TokenService> {
    const pem = options.pem;
    const privateKey = await importPKCS8(pem, 'RS256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const publicJwk = { kty: jwk.kty!, n: jwk.n!, e: jwk.e! };
    const publicKey = (await importJWK(publicJwk, 'RS256')) as CryptoKey;
    const kid = await calculateJwkThumbprint(publicJwk);
    return new TokenService(privateKey, publicKey, kid, options.lifetimeSeconds);
  }

  async issue(subject: string, access: AccessClaim[], audience = registryService): Promise<IssuedToken> {
    const now = Math.floor(Date.now() / 1000);
    const lifetimeSeconds = this.lifetimeSeconds;
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuer(tokenIssuer)
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expires_in: lifetimeSeconds, issued_at: new Date(now * 1000).toISOString() };
  }

  /**
   * Verifies signature, issuer, audience and time; a token without an expiry is refused. A
   * verified token is remembered until it expires.
   */
  async verify(token: string): Promise<TokenClaims> {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt * 1000 > Date.now()) return cached;
      this.verified.delete(token);
      throw new TokenError('token has expired');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, {
        issuer: tokenIssuer,
        audience: registryService,
        algorithms: ['RS256'],
        clockTolerance: tokenClockToleranceMs / 1000,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw new TokenError(`token is not valid: ${(err as Error).message}`);
    }
    const access = Array.isArray(payload.access) ? (payload.access as AccessClaim[]) : [];
    const claims: TokenClaims = { subject: payload.sub ?? '', access, expiresAt: payload.exp!, issuedAt: payload.iat };
    this.verified.set(token, claims);
    return claims;
  }
}

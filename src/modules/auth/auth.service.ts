// Caller authentication: a JWT bearer (HS256 secret or a JWKS) whose claims name the workspaces it may act on.
import { createHash } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';

export const ADMIN_SCOPE = 'hub:admin';

export interface Principal {
  subject: string;
  workspaces: ReadonlySet<string>;
  admin: boolean;
  /** A stable, non-reversible key for per-caller rate limiting. */
  rateLimitKey: string;
}

export interface AuthService {
  /** Verifies an `Authorization` header value; throws 401 AppError when missing or invalid. */
  authenticate(authorization: string | undefined): Promise<Principal>;
  /**
   * The principal of a bearer token verified before and not expired, without waiting on anything; undefined
   * otherwise (then authenticate, which verifies it or says why not).
   */
  knownPrincipal(authorization: string | undefined): Principal | undefined;
  /** Whether a principal this service gave out is still valid (its token not expired). */
  stillValid(principal: Principal): boolean;
  /** Whether the principal may act on the workspace. */
  mayActOn(principal: Principal, workspaceId: string): boolean;
  /** Throws 403 unless the principal may act on the workspace. */
  authorizeWorkspace(principal: Principal, workspaceId: string): void;
}

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i;
const BEARER_PREFIX = 'Bearer ';

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];

export function createAuthService(deps: { config: Pick<Config, 'auth'> }): AuthService {
  const { jwtSecret, jwksUrl, audience, issuer, clockToleranceSeconds = 30 } = deps.config.auth;
  if (!jwtSecret && !jwksUrl) throw new Error('auth needs AUTH_JWT_SECRET or AUTH_JWKS_URL');
  const key: Uint8Array | JWTVerifyGetKey = jwksUrl
    ? createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 })
    : new TextEncoder().encode(jwtSecret);
  const algorithms = jwksUrl ? ASYMMETRIC_ALGS : ['HS256'];

  // Verified tokens are remembered, as the principal they name, until they expire: a dashboard sends the same token
  // many times, and verification (WebCrypto HMAC or a JWKS signature) costs more than the rest of a cached read.
  const verified = new Map<string, { principal: Principal; expiresAtMs: number }>();
  const MAX_REMEMBERED = 10_000;
  /** When each principal handed out stops being valid (its token's expiry). */
  const expiryOf = new WeakMap<Principal, number>();

  const mayActOn = (principal: Principal, workspaceId: string) => principal.admin || principal.workspaces.has(workspaceId);

  async function principalOf(token: string): Promise<Principal> {
    const known = verified.get(token);
    if (known) {
      if (known.expiresAtMs > Date.now()) return known.principal;
      verified.delete(token);
    }
    const payload = await verifyUncached(token);
    const principal = toPrincipal(payload, token);
    if (verified.size >= MAX_REMEMBERED) verified.delete(verified.keys().next().value!);
    // Remembered as long as verification would accept it: up to the allowed clock skew past `exp`.
    const expiresAtMs = ((payload.exp ?? 0) + clockToleranceSeconds) * 1000;
    verified.set(token, { principal, expiresAtMs });
    expiryOf.set(principal, expiresAtMs);
    return principal;
  }

  function toPrincipal(payload: JWTPayload, token: string): Principal {
    const workspaces = Array.isArray(payload.workspaces) ? payload.workspaces.filter((w): w is string => typeof w === 'string') : [];
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    const subject = payload.sub ?? 'anonymous';
    return Object.freeze({
      subject,
      workspaces: new Set(workspaces),
      admin: scopes.includes(ADMIN_SCOPE),
      rateLimitKey: createHash('sha256').update(`${payload.iss ?? ''}|${subject}|${payload.jti ?? token}`).digest('base64url').slice(0, 22),
    });
  }

  async function verifyUncached(token: string): Promise<JWTPayload> {
    try {
      const options = { audience, issuer, algorithms, requiredClaims: ['exp'], clockTolerance: clockToleranceSeconds };
      const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
      return payload;
    } catch (error) {
      const detail = error instanceof joseErrors.JWTExpired ? 'The token has expired.' : 'The token is not valid.';
      throw new AppError('invalid_token', detail, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    }
  }

  return {
    async authenticate(authorization) {
      const match = BEARER.exec(authorization ?? '');
      if (!match?.[1]) {
        throw new AppError('unauthenticated', 'Send a bearer token: Authorization: Bearer <JWT>.', {
          headers: { 'WWW-Authenticate': 'Bearer' },
        });
      }
      return principalOf(match[1]);
    },
    knownPrincipal(authorization) {
      // Only the usual spelling is looked up: a token remembered here was verified, so it needs no pattern check;
      // any other spelling goes the full way.
      if (!authorization?.startsWith(BEARER_PREFIX)) return undefined;
      const known = verified.get(authorization.slice(BEARER_PREFIX.length));
      return known && known.expiresAtMs > Date.now() ? known.principal : undefined;
    },
    stillValid(principal) {
      return (expiryOf.get(principal) ?? 0) > Date.now();
    },
    mayActOn,
    authorizeWorkspace(principal, workspaceId) {
      if (mayActOn(principal, workspaceId)) return;
      throw new AppError('forbidden', 'This token may not act on that workspace.');
    },
  };
}

/** Mints an HS256 token (the `hub token` command and local development). */
export async function mintToken(options: {
  secret: string;
  audience: string;
  issuer?: string;
  subject?: string;
  workspaces?: string[];
  scope?: string;
  ttlSeconds?: number;
}): Promise<string> {
  const jwt = new SignJWT({
    ...(options.workspaces ? { workspaces: options.workspaces } : {}),
    ...(options.scope ? { scope: options.scope } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.subject ?? 'dev')
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds ?? 12 * 3600}s`);
  if (options.issuer) jwt.setIssuer(options.issuer);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

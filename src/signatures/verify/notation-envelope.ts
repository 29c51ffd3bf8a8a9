import { decode, Tag } from 'cbor2';

/**
 * Notation's two signature envelopes read into one shape (notaryproject/specifications
 * signature-envelope-jws.md and signature-envelope-cose.md). Parsing checks only the form;
 * what the values mean is checked by the verifier.
 */
export interface NotationEnvelope {
  format: 'jws' | 'cose';
  /** The JWS name of the algorithm (COSE's integer mapped to it), e.g. ES256, PS384. */
  alg: string;
  /** The bytes the signature covers (JWS signing input, or COSE's Sig_structure). */
  signedBytes: Buffer;
  signature: Buffer;
  payload: Buffer;
  contentType: unknown;
  /** The critical header names; undefined when the envelope has none. */
  crit: unknown[] | undefined;
  /** Names of the protected (signed) headers present, for checking every `crit` entry is there. */
  protectedNames: string[];
  signingScheme: unknown;
  signingTime: Date | undefined;
  authenticSigningTime: Date | undefined;
  expiry: Date | undefined;
  /** DER certificates, signing certificate first, root last. */
  certificates: Buffer[];
}

export const notationHeaders = {
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
} as const;

export class EnvelopeError extends Error {}

const coseAlgorithms: Record<number, string> = {
  [-7]: 'ES256',
  [-35]: 'ES384',
  [-36]: 'ES512',
  [-37]: 'PS256',
  [-38]: 'PS384',
  [-39]: 'PS512',
};
const coseLabels = { alg: 1, crit: 2, contentType: 3, x5chain: 33 } as const;

function base64url(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value)) throw new EnvelopeError(`the JWS ${what} is not base64url`);
  return Buffer.from(value, 'base64url');
}

/** An RFC 3339 time as the JWS headers carry it; undefined when absent. */
function rfc3339(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const time =
    typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value)
      ? new Date(value)
      : undefined;
  if (!time || Number.isNaN(time.getTime())) throw new EnvelopeError(`${name} is not an RFC 3339 time`);
  return time;
}

/** A flattened JWS JSON serialization, the only JWS form Notation uses. */
export function parseJws(blob: Buffer): NotationEnvelope {
  let jws: any;
  try {
    jws = JSON.parse(blob.toString('utf8'));
  } catch {
    throw new EnvelopeError('the JWS envelope is not JSON');
  }
  if (typeof jws !== 'object' || jws === null || Array.isArray(jws)) throw new EnvelopeError('the JWS envelope is not a JSON object');
  const extra = Object.keys(jws).filter((k) => !['payload', 'protected', 'header', 'signature'].includes(k));
  if (extra.length > 0) throw new EnvelopeError(`the JWS envelope has fields Notation does not define: ${extra.join(', ')}`);
  const protectedText = base64url(jws.protected, 'protected header');
  const payload = base64url(jws.payload, 'payload');
  const signature = base64url(jws.signature, 'signature');
  let headers: any;
  try {
    headers = JSON.parse(protectedText.toString('utf8'));
  } catch {
    throw new EnvelopeError('the JWS protected header is not JSON');
  }
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    throw new EnvelopeError('the JWS protected header is not a JSON object');
  const unprotected = jws.header ?? {};
  if (typeof unprotected !== 'object' || unprotected === null || Array.isArray(unprotected))
    throw new EnvelopeError('the JWS unprotected header is not a JSON object');
  // RFC 7515 §7.2.1: protected and unprotected header names are disjoint.
  const both = Object.keys(unprotected).filter((name) => Object.hasOwn(headers, name));
  if (both.length > 0) throw new EnvelopeError(`the JWS headers ${both.join(', ')} are both protected and unprotected`);
  const x5c = unprotected.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c: unknown) => typeof c === 'string')) {
    throw new EnvelopeError('the JWS header has no x5c certificate chain');
  }
  if (typeof headers.alg !== 'string') throw new EnvelopeError('the JWS protected header has no alg');
  return {
    format: 'jws',
    alg: headers.alg,
    signedBytes: Buffer.from(`${jws.protected}.${jws.payload}`, 'ascii'),
    signature,
    payload,
    contentType: headers.cty,
    crit: headers.crit === undefined ? undefined : Array.isArray(headers.crit) ? headers.crit : [headers.crit],
    protectedNames: Object.keys(headers),
    signingScheme: headers[notationHeaders.signingScheme],
    signingTime: rfc3339(headers[notationHeaders.signingTime], notationHeaders.signingTime),
    authenticSigningTime: rfc3339(headers[notationHeaders.authenticSigningTime], notationHeaders.authenticSigningTime),
    expiry: rfc3339(headers[notationHeaders.expiry], notationHeaders.expiry),
    certificates: x5c.map((c: string) => Buffer.from(c, 'base64')),
  };
}

function coseTime(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  // cbor2 turns tag 1 (epoch date/time) into a Date; anything else is not what the spec says.
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new EnvelopeError(`${name} is not a CBOR epoch date/time (tag 1)`);
  return value;
}

function bytes(value: unknown, what: string): Buffer {
  if (!(value instanceof Uint8Array)) throw new EnvelopeError(`the COSE ${what} is not a byte string`);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Sig_structure for COSE_Sign1 (RFC 8152 §4.4): ["Signature1", protected, external_aad = h'', payload], hand-encoded as CBOR. */
function sigStructure(protectedBytes: Buffer, payload: Buffer): Buffer {
  const head = (major: number, length: number): Buffer => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
    if (length < 0x10000) return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(length, 1);
    return b;
  };
  const context = Buffer.from('Signature1', 'ascii');
  return Buffer.concat([
    head(4, 4),
    head(3, context.length),
    context,
    head(2, protectedBytes.length),
    protectedBytes,
    head(2, 0),
    head(2, payload.length),
    payload,
  ]);
}

/** A COSE_Sign1_Tagged message (CBOR tag 18) with an embedded payload. */
export function parseCose(blob: Buffer): NotationEnvelope {
  let message: unknown;
  try {
    message = decode(blob, { preferMap: true });
  } catch (error) {
    throw new EnvelopeError(`the COSE envelope is not CBOR: ${(error as Error).message}`);
  }
  if (!(message instanceof Tag) || Number(message.tag) !== 18)
    throw new EnvelopeError('the COSE envelope is not a COSE_Sign1_Tagged message (CBOR tag 18)');
  const parts = message.contents;
  if (!Array.isArray(parts) || parts.length !== 4) throw new EnvelopeError('the COSE_Sign1 message is not an array of four items');
  const protectedBytes = bytes(parts[0], 'protected header');
  const unprotected = parts[1];
  if (!(unprotected instanceof Map)) throw new EnvelopeError('the COSE unprotected header is not a map');
  if (parts[2] === null) throw new EnvelopeError('the COSE payload is detached; Notation embeds it');
  const payload = bytes(parts[2], 'payload');
  const signature = bytes(parts[3], 'signature');
  let headers: unknown;
  try {
    headers = protectedBytes.length === 0 ? new Map() : decode(protectedBytes, { preferMap: true });
  } catch {
    throw new EnvelopeError('the COSE protected header is not CBOR');
  }
  if (!(headers instanceof Map)) throw new EnvelopeError('the COSE protected header is not a map');
  const algValue = headers.get(coseLabels.alg);
  const alg = typeof algValue === 'number' ? coseAlgorithms[algValue] : undefined;
  if (!alg) throw new EnvelopeError(`the COSE alg ${JSON.stringify(algValue ?? null)} is not one Notation allows`);
  const chainValue = unprotected.get(coseLabels.x5chain);
  const chain = chainValue instanceof Uint8Array ? [chainValue] : chainValue;
  if (!Array.isArray(chain) || chain.length === 0) throw new EnvelopeError('the COSE unprotected header has no x5chain (label 33)');
  const crit = headers.get(coseLabels.crit);
  return {
    format: 'cose',
    alg,
    signedBytes: sigStructure(protectedBytes, payload),
    signature,
    payload,
    contentType: headers.get(coseLabels.contentType),
    crit: crit === undefined ? undefined : Array.isArray(crit) ? crit : [crit],
    protectedNames: [...headers.keys()].map(String),
    signingScheme: headers.get(notationHeaders.signingScheme),
    signingTime: coseTime(headers.get(notationHeaders.signingTime), notationHeaders.signingTime),
    authenticSigningTime: coseTime(headers.get(notationHeaders.authenticSigningTime), notationHeaders.authenticSigningTime),
    expiry: coseTime(headers.get(notationHeaders.expiry), notationHeaders.expiry),
    certificates: chain.map((c: unknown) => bytes(c, 'x5chain certificate')),
  };
}

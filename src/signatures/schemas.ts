import { dateTime, int, object, pathParams, str, type SharedSchema } from '../http/schema-helpers.js';
import { projectNameOrId } from '../projects/schemas.js';
import { trustKeyTypes } from './types.js';

/** The trusted-keys API's definitions (a Berth extension; documentation only: see server/openapi.ts). */

export const TrustKey: SharedSchema = {
  $id: 'TrustKey',
  description:
    "A key, certificate set or Sigstore trusted root a project trusts (Berth extension). Once a project holds keys of a signature's kind, " +
    'only signatures that verify against them count for the content-trust policies and show as verified.',
  ...object({
    id: int('Id of the key'),
    project_id: int('Id of its project'),
    name: str('Unique within the project'),
    type: str('cosign: an SPKI public key (ECDSA, Ed25519, RSA); notation-ca: X.509 CA certificates; sigstore-root: a trusted_root.json', {
      enum: [...trustKeyTypes],
    }),
    pem: str('The key or certificates as PEM (re-encoded), or the trusted root JSON as sent'),
    fingerprint: str("sha256 (hex) of the SPKI DER, of the certificates' DER, or of the JSON text"),
    creation_time: dateTime('When it was added'),
  }),
};

export const TrustKeyReq: SharedSchema = {
  $id: 'TrustKeyReq',
  description:
    'A key to trust. The pem must be the kind of key its type says (400 otherwise); a name or key already in the project is 409.',
  ...object(
    {
      name: str('Unique within the project (at most 255 characters)'),
      type: str('cosign, notation-ca or sigstore-root', { enum: [...trustKeyTypes] }),
      pem: str(
        'cosign: "-----BEGIN PUBLIC KEY-----" (cosign.pub); notation-ca: one or more CA certificates; sigstore-root: trusted_root.json text',
      ),
    },
    ['name', 'type', 'pem'],
  ),
};

export const signatureSchemas = [TrustKey, TrustKeyReq];

export const trustKeyParams = pathParams({ ...projectNameOrId, key_id: int('Id of the trusted key', { minimum: 1 }) });

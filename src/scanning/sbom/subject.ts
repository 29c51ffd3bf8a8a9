import { PackageURL } from 'packageurl-js';
import { parseDigest } from '../../oci/digest.js';
import type { Package } from '../types.js';

/** The artifact an SBOM describes. */
export interface SbomSubject {
  /** Full repository name, `project/…/name`. */
  repository: string;
  /** The manifest digest that was scanned. */
  digest: string;
  tags?: string[];
  /** The registry's host[:port] as clients name it, when known; it goes into the image's purl. */
  registry?: string;
}

/**
 * The image's package URL per the purl spec's `oci` type: the name is the repository's last
 * segment, the version the manifest digest, and `repository_url` says where it lives.
 */
export function imagePurl(subject: SbomSubject): string {
  const name = subject.repository.split('/').at(-1)!.toLowerCase();
  const qualifiers: Record<string, string> = {
    repository_url: subject.registry ? `${subject.registry}/${subject.repository}` : subject.repository,
  };
  const tag = subject.tags?.[0];
  if (tag) qualifiers.tag = tag;
  return new PackageURL('oci', null, name, subject.digest, qualifiers, null).toString();
}

/** `repository@digest`, the name both documents give the image. */
export function subjectName(subject: SbomSubject): string {
  return `${subject.repository}@${subject.digest}`;
}

/** The checksum of the image (its manifest digest), as algorithm and hex. */
export function subjectChecksum(subject: SbomSubject): { algorithm: 'SHA256' | 'SHA512'; hex: string } | null {
  const parsed = parseDigest(subject.digest);
  return parsed ? { algorithm: parsed.algorithm === 'sha256' ? 'SHA256' : 'SHA512', hex: parsed.hex } : null;
}

const osPurlTypes = new Set(['deb', 'apk', 'rpm', 'alpm']);

/** Whether the operating system installed the package (dpkg, apk, rpm) rather than a language tool. */
export function isOsPackage(pkg: Package): boolean {
  const type = /^pkg:([a-zA-Z0-9.+-]+)\//.exec(pkg.purl)?.[1]?.toLowerCase();
  return type !== undefined && osPurlTypes.has(type);
}

export interface Supplier {
  name: string;
  email?: string;
  url?: string;
}

/**
 * A package database's maintainer or vendor: `Name <mail>` (dpkg, apk), `Name <https://…>`
 * (some third-party debs) or a plain name (rpm Vendor).
 */
export function parseSupplier(value: string | undefined): Supplier | null {
  const text = value?.replace(/\s+/g, ' ').trim();
  if (!text) return null;
  const m = /^(.*?)\s*<([^>]*)>\s*$/.exec(text);
  if (!m) return { name: text };
  const contact = m[2].trim();
  const name = m[1] || contact;
  if (/^[^\s@<>()/]+@[^\s@<>()/]+\.[^\s@<>()/]+$/.test(contact)) return { name, email: contact };
  if (/^https?:\/\/\S+$/.test(contact) && URL.canParse(contact)) return { name, url: contact };
  return { name: text };
}

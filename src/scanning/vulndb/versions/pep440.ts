import { compare, valid } from '@renovatebot/pep440';

/** PEP 440 order (PyPI): epoch, release, then dev < pre (a, b, rc) < final < post, then local labels. */
export function comparePep440(a: string, b: string): number {
  return Math.sign(compare(a, b));
}

export function validPep440(version: string): boolean {
  return valid(version) !== null;
}

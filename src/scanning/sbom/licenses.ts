import parseSpdxExpression from 'spdx-expression-parse';

export type DeclaredLicense =
  /**
   * A valid SPDX expression of listed licences, written back with upper-case operators;
   * `single` is set when it is one licence id alone (no WITH, no `+`).
   */
  | { kind: 'expression'; expression: string; single: string | null }
  /** Text that is not one (`BSD`, `GPLv2+`, a LicenseRef the document cannot define): kept as text. */
  | { kind: 'text'; text: string };

type Parsed = ReturnType<typeof parseSpdxExpression>;

function hasReference(node: Parsed): boolean {
  if ('license' in node) return node.license.startsWith('LicenseRef-') || node.license.startsWith('DocumentRef-');
  return hasReference(node.left) || hasReference(node.right);
}

function written(node: Parsed, parent: 'and' | 'or' | null): string {
  if ('license' in node) return `${node.license}${node.plus ? '+' : ''}${node.exception ? ` WITH ${node.exception}` : ''}`;
  const text = `${written(node.left, node.conjunction)} ${node.conjunction.toUpperCase()} ${written(node.right, node.conjunction)}`;
  return parent !== null && parent !== node.conjunction ? `(${text})` : text;
}

/**
 * What a package database says about its licence, sorted into a valid SPDX expression or plain
 * text. A `LicenseRef-` is text here: the document would have to define it, and it does not.
 */
export function declaredLicense(value: string | undefined): DeclaredLicense | null {
  const text = value?.trim();
  if (!text) return null;
  let parsed: Parsed;
  try {
    parsed = parseSpdxExpression(text);
  } catch {
    return { kind: 'text', text };
  }
  if (hasReference(parsed)) return { kind: 'text', text };
  const single = 'license' in parsed && !parsed.plus && !parsed.exception ? parsed.license : null;
  return { kind: 'expression', expression: written(parsed, null), single };
}

// What an artifact's signatures say, as the artifact API's `signatures` field (Berth's
// extension, src/signatures/types.ts SignatureView) has it: verified against the project's
// trusted keys, not verified by them, or signed where the project holds no keys to check with.
import { Badge } from '@mantine/core';
import { IconAlertTriangle, IconRosetteDiscountCheck, IconShieldCheck } from '@tabler/icons-react';

export type SignatureStatus = 'verified' | 'unverified' | 'signed';

export interface SignatureView {
  digest: string;
  kind: 'cosign' | 'notation';
  status: SignatureStatus;
  signer?: string;
  key_name?: string;
  reason?: string;
}

export const signatureKindText: Record<string, string> = { cosign: 'Cosign', notation: 'Notation' };

export const signatureStatusText: Record<SignatureStatus, string> = {
  verified: 'verified',
  unverified: 'unverified',
  signed: 'signed',
};

/** What a status means, in a sentence. */
export const signatureStatusMeaning: Record<SignatureStatus, string> = {
  verified: "Verified against the project's trusted keys",
  unverified: "Not verified: it does not verify against the project's trusted keys",
  signed: 'Signed, not checked: the project holds no trusted keys of this kind',
};

const statusLook: Record<SignatureStatus, { color: string; icon: typeof IconShieldCheck }> = {
  verified: { color: 'green', icon: IconShieldCheck },
  signed: { color: 'teal', icon: IconRosetteDiscountCheck },
  unverified: { color: 'orange', icon: IconAlertTriangle },
};

/** The artifact's standing, the best of its signatures': one verified is enough, then one merely signed. */
export function overallStatus(signatures: SignatureView[]): SignatureStatus | null {
  if (signatures.length === 0) return null;
  if (signatures.some((s) => s.status === 'verified')) return 'verified';
  if (signatures.some((s) => s.status === 'signed')) return 'signed';
  return 'unverified';
}

/** "Cosign: verified, by alice (key ci)". */
export function describeSignature(s: SignatureView): string {
  const by = s.signer ? `, by ${s.signer}` : '';
  const key = s.key_name && s.key_name !== s.signer ? ` (key ${s.key_name})` : '';
  return `${signatureKindText[s.kind] ?? s.kind}: ${signatureStatusText[s.status]}${by}${key}`;
}

/** A status badge, never cut short in a narrow column. */
export function SignatureStatusBadge({ status, title }: { status: SignatureStatus; title?: string }) {
  const look = statusLook[status];
  const Icon = look.icon;
  return (
    <Badge
      variant="light"
      color={look.color}
      tt="none"
      leftSection={<Icon size={12} aria-hidden />}
      title={title ?? signatureStatusMeaning[status]}
      styles={{ root: { overflow: 'visible', flexShrink: 0 }, label: { overflow: 'visible' } }}
    >
      {signatureStatusText[status]}
    </Badge>
  );
}

/**
 * The artifact's mark in lists and its page's header: "verified", "signed" or "unverified";
 * its title names each signature and who signed it.
 */
export function SignatureMark({ signatures }: { signatures: SignatureView[] }) {
  const status = overallStatus(signatures);
  if (!status) return null;
  return <SignatureStatusBadge status={status} title={signatures.map(describeSignature).join('\n')} />;
}

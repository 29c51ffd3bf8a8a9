import { Center } from '@mantine/core';
import {
  IconAssembly,
  IconBox,
  IconFileCode,
  IconFileDescription,
  IconPackages,
  IconSignature,
  IconStack2,
  IconSteeringWheel,
  type Icon,
} from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { api, segment } from '../../api/client';

interface IconAnswer {
  'content-type': string;
  content: string;
}

function fallbackIcon(type: string, index: boolean): Icon {
  const upper = type.toUpperCase();
  if (upper === 'IMAGE') return index ? IconStack2 : IconBox;
  if (upper === 'CHART') return IconSteeringWheel;
  if (upper === 'CNAB') return IconPackages;
  if (upper === 'WASM') return IconAssembly;
  if (upper.startsWith('SIGNATURE')) return IconSignature;
  if (upper.startsWith('SBOM') || upper === 'ATTESTATION') return IconFileDescription;
  return IconFileCode;
}

/**
 * The artifact's icon: the server's (/icons/{digest} answers it base64-encoded as JSON, so it
 * is shown as a data: URL), or a Tabler icon for its type while that loads or when there is
 * none. `label` (the type in words) is its alt text.
 */
export function ArtifactIcon({
  icon,
  type,
  index = false,
  label,
  size = 28,
  decorative = false,
}: {
  icon: string;
  type: string;
  index?: boolean;
  label: string;
  size?: number;
  /** Beside a text that says the same: no alt text. */
  decorative?: boolean;
}) {
  const query = useQuery({
    queryKey: ['icon', icon],
    queryFn: () => api.get<IconAnswer>(`/icons/${segment(icon)}`),
    enabled: icon !== '',
    staleTime: Infinity,
    gcTime: Infinity,
    retry: false,
  });
  if (query.data?.content) {
    return (
      <img
        src={`data:${query.data['content-type']};base64,${query.data.content}`}
        alt={decorative ? '' : label}
        title={decorative ? undefined : label}
        width={size}
        height={size}
        style={{ display: 'block', borderRadius: 6 }}
      />
    );
  }
  const Fallback = fallbackIcon(type, index);
  return (
    <Center w={size} h={size}>
      {decorative ? (
        <Fallback size={size * 0.8} stroke={1.6} aria-hidden />
      ) : (
        <Fallback size={size * 0.8} stroke={1.6} role="img" aria-label={label} />
      )}
    </Center>
  );
}

// Above every signed-in page: the administrators' banner (banner_message, within its dates,
// closable when they allow it) and a bar while the system is read-only.
import { Alert, Stack } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import type { SystemInfo } from '../api/types';
import { bannerColors, bannerShowing, parseBanner } from '../pages/admin/configuration/model';

const closedKey = 'berth.closedBanner';

function closedBanner(): string | null {
  try {
    return sessionStorage.getItem(closedKey);
  } catch {
    return null;
  }
}

export function SystemBanner() {
  // Shared with the other readers of /systeminfo; re-read now and then so that a change made
  // elsewhere (another administrator, another instance) shows without reloading.
  const info = useQuery({ queryKey: ['systeminfo'], queryFn: () => api.get<SystemInfo>('/systeminfo'), refetchInterval: 60_000 });
  const [closed, setClosed] = useState(closedBanner);
  const text = typeof info.data?.banner_message === 'string' ? info.data.banner_message : '';
  const banner = parseBanner(text);
  const showBanner = bannerShowing(banner) && !(banner.closable && closed === text);
  const readOnly = info.data?.read_only === true;
  if (!showBanner && !readOnly) return null;

  function close() {
    // Closed for this browser session, until the message changes.
    try {
      sessionStorage.setItem(closedKey, text);
    } catch {
      // storage unavailable: closed until the next reload
    }
    setClosed(text);
  }

  return (
    <Stack gap="xs" mb="md">
      {readOnly && (
        <Alert color="orange" role="status" aria-label="Read-only mode">
          The system is in read-only mode: pushes and changes are refused
        </Alert>
      )}
      {showBanner && (
        <Alert
          color={bannerColors[banner.type]}
          role="status"
          aria-label="Announcement"
          withCloseButton={banner.closable}
          closeButtonLabel="Close the announcement"
          onClose={close}
          style={{ whiteSpace: 'pre-wrap' }}
        >
          {banner.message}
        </Alert>
      )}
    </Stack>
  );
}

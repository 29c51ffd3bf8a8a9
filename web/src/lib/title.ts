import { useEffect } from 'react';

/** Sets the window title for the page shown: "Projects · Berth". */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Berth` : 'Berth';
  }, [title]);
}

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The portal is served by `berth serve` at `/`; `npm run build` writes it to web/dist.
// In development, `npx vite web` proxies the API to a Berth on :8080.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/c': 'http://127.0.0.1:8080', '/service': 'http://127.0.0.1:8080' },
  },
});

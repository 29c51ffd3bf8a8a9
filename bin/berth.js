#!/usr/bin/env node
// Berth runs its TypeScript sources directly through tsx (esbuild): no build step to
// forget, and no stale compiled copy to run by mistake.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);

// The page builds to web/dist, which `cyberhub serve` serves at `/` (same origin as the API). No
// React plugin: esbuild's automatic JSX runtime is all the page needs.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  // The SDK is linked from ../sdk-ts, which has React as a dev dependency of its own: one copy only.
  resolve: { dedupe: ['react', 'react-dom'] },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/v1': 'http://127.0.0.1:3000', '/health': 'http://127.0.0.1:3000' } },
});

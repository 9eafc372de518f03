import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The SDK is used from its TypeScript sources (the `@runtools/source` export condition), so the
// dashboard builds without building the SDK first. Everything is bundled: nothing loads from a
// CDN at run time.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { conditions: ['@runtools/source', 'browser', 'module', 'import', 'default'] },
  build: { outDir: 'dist', assetsDir: 'assets', sourcemap: true, chunkSizeWarningLimit: 2000 },
});

import { defineConfig } from 'vite';

/** A directory next to this file, as a path (the config runs in Node; URL keeps it free of node: imports). */
const here = (relative: string): string => decodeURIComponent(new URL(relative, import.meta.url).pathname);

/** The dashboard: built into dist/web/ (index.html + hashed assets), served by Halyard itself. */
export default defineConfig({
  root: here('.'),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // `npx vite --config web/vite.config.ts`: the app with instant reloads, talking to a Halyard on :8080.
  server: {
    proxy: Object.fromEntries(
      ['/api', '/mqtt', '/channels'].map((path) => [path, { target: 'http://localhost:8080', ws: true }]),
    ),
  },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
  },
});

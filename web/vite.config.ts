import { defineConfig } from 'vite';

// `npm run -w @nst/web dev` serves the app with hot reload on :5173 and sends gRPC-Web calls,
// thumbnails and health to the gateway (npm start, :8080). Production builds go to dist/,
// which the gateway serves itself.
const gateway = process.env['NST_GATEWAY_URL'] ?? 'http://localhost:8080';

export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: {
    proxy: {
      '^/nst\\.v1\\.': { target: gateway, changeOrigin: true },
      '/styles': { target: gateway, changeOrigin: true },
      '/readyz': { target: gateway, changeOrigin: true },
    },
  },
});

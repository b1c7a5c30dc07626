/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The built SPA is served by Django: index at /, assets at /assets/...
// In development, `npm run dev` proxies the API, admin and WebSocket to
// the Django server on 127.0.0.1:8000 so that everything stays same-origin.
const backend = 'http://127.0.0.1:8000'

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      '/api': { target: backend },
      '/admin': { target: backend },
      '/static': { target: backend },
      '/ws': { target: backend, ws: true },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
})

// The web app is plain JavaScript modules bundled by Vite into web/dist, which `kerafold serve
// --web web/dist` serves; relative asset paths so it works under any mount point.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  // one bundle of ~1.3 MB (viem, the UnixFS importer, Poseidon's constants): served from localhost
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
});

// Starts `worker.ts` from the TypeScript sources (tests, `pnpm bench`): registers tsx's loader in this worker thread
// first. Used only when the package itself runs from its sources; the build starts `dist/worker.js` directly.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./worker.ts', import.meta.url).href);

/** `pnpm docs:methods`: (re)write `docs/methods.md` from the method packages (see `scripts/lib/methods-doc.ts`). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configNames, methodsPage } from './lib/methods-doc';

const path = fileURLToPath(new URL('../docs/methods.md', import.meta.url));
const rows = configNames();
writeFileSync(path, methodsPage(rows));
console.log(`wrote ${path}: ${rows.length} config names`);

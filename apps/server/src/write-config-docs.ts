import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIGURATION_DOC, configurationDoc } from './config-docs';

const path = fileURLToPath(new URL(`../../../${CONFIGURATION_DOC}`, import.meta.url));
writeFileSync(path, configurationDoc());
console.log(`wrote ${CONFIGURATION_DOC}`);

/**
 * Prints the settings table (markdown) from the config module, for the README:
 *   npm run -w @nst/runtime config-docs
 */
import { configDocsMarkdown } from '../src/config';

process.stdout.write(configDocsMarkdown());

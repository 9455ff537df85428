// Entry point of the `nst` command (bin/nst.js loads it through tsx).
import { buildProgram } from './program';

await buildProgram().parseAsync(process.argv);

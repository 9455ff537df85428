#!/usr/bin/env node
// The `nst` command. The CLI is TypeScript run without a build step (like every package
// here): register tsx's loader, then load the real entry point.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');

#!/usr/bin/env node
// Deletes the package's dist before its build (run in the package's directory): tsc never deletes,
// so a module, a test or a map that no longer has a source would stay in dist and be packed.

import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });

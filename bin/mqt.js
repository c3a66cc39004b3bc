#!/usr/bin/env node
// Launcher for the compiled CLI. `npm install` builds dist/ (the "prepare" script);
// in a checkout where it has not run, say so in one line instead of a module-resolution trace.
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node >= 22.1 can cache compiled code on disk: the command-line clients start once per message,
// and most of their start-up is compiling yargs and MQTT.js. A no-op where it does not exist.
module.enableCompileCache?.();

const cli = new URL('../dist/cli.js', import.meta.url);

if (!existsSync(cli)) {
  process.stderr.write("mqt: dist/cli.js is missing; run 'npm run build' first\n");
  process.exitCode = 1;
} else {
  const { main } = await import(cli.href);
  await main();
}

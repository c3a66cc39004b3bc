#!/usr/bin/env node
/**
 * Second half of `npm run build`: bundles the compiled CLI into CommonJS files that bin/mqt.js
 * runs with V8's code cache, and writes the content hash of each beside it (`<bundle>.id`):
 *   dist/cli.bundle.cjs         dist/cli.js: every command, yargs, MQTT.js, chalk, ora, inquirer
 *   dist/cli-broker.bundle.cjs  dist/cli-broker.js: `mqt broker` alone (its quick parser, chalk,
 *                               the broker core, ws; no yargs), a tenth of the size: a broker runs
 *                               for weeks and should not hold the clients' code (`npm run bench:memory`)
 *   dist/cli-client.bundle.cjs  dist/cli-fast.js: `mqt pub` and `mqt sub` from a plain command line
 *                               (commands/client-argv.ts; no yargs, bench or broker), a third of the
 *                               size: what a one-shot pub reads and compiles at each start
 *
 * Why: `mqt pub` starts once per message. Unbundled, Node 20 spends most of a one-shot pub
 * resolving, reading and compiling some 400 module files; one file with a code cache skips
 * all three (see `npm run bench:startup`). The library entry (dist/index.js) stays unbundled.
 *
 * - Each of our modules keeps its own import.meta.url (its file in dist/): the bench engine
 *   finds its worker and child-process files beside itself, the CLI its package.json.
 * - Nothing is left to import() at run time: a script run with V8's code cache cannot
 *   (Node 20 drops vm's importModuleDynamically for cached code).
 * - ASCII only (non-ASCII characters escaped): V8 keeps a script's source for as long as its
 *   functions live, and a source with one character beyond Latin-1 (cli-spinners, emoji
 *   regexps) is stored at two bytes per character: 2.8 MB for the whole CLI, 1.8 MB escaped.
 * - string-width builds an Intl.Segmenter and a dozen Unicode-property regexps when it is
 *   loaded (~35 ms); yargs, cliui and ora load it but only need it to lay out help or a
 *   spinner. Its top level is deferred to its first call, and printable ASCII is answered
 *   without it. yargs lays out the help of every command it runs (to have it ready), and the
 *   help of broker, pub and sub is all ASCII: without this, each of their runs loaded ICU's
 *   segmentation data and Unicode tables, 10 MB resident in a broker for nothing.
 * - What a one-shot pub does not use is not loaded at its start (issue 15, `mqt pub` at most
 *   1.5x `node -e 0`): node: modules on first use (lazyBuiltins; not in the broker's bundle),
 *   MQTT.js's WebSocket, TLS and SOCKS code on first use, lru-cache's clock on first use.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundles = [
  { input: resolve(root, 'dist/cli.js'), output: resolve(root, 'dist/cli.bundle.cjs'), lazy: true },
  { input: resolve(root, 'dist/cli-broker.js'), output: resolve(root, 'dist/cli-broker.bundle.cjs'), lazy: false },
  { input: resolve(root, 'dist/cli-fast.js'), output: resolve(root, 'dist/cli-client.bundle.cjs'), lazy: true },
];
const dist = resolve(root, 'dist');
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/**
 * Wraps string-width's module body in a function run on the first call of its default export.
 * Checks the shape it relies on (imports, then code, one default-exported function and no
 * other export) and leaves the module as it is, with a warning, when a new version differs.
 */
const lazyStringWidth = {
  name: 'lazy-string-width',
  transform(code, id) {
    if (!/[\\/]string-width[\\/]index\.js$/.test(id)) return null;
    const lines = code.split('\n');
    let i = 0;
    while (i < lines.length && (lines[i].startsWith('import ') || lines[i].trim() === '')) i++;
    const marker = 'export default function stringWidth(';
    const body = lines.slice(i).join('\n');
    if (body.split(marker).length !== 2 || /\bexport\b/.test(body.replace(marker, ''))) {
      this.warn(`string-width at ${id} has a new shape; it is bundled as it is (its load costs start-up time)`);
      return null;
    }
    return [
      ...lines.slice(0, i),
      'let loaded;',
      `function load() {\n${body.replace(marker, 'function stringWidth(')}\nreturn stringWidth;\n}`,
      'export default function lazyStringWidth(string, options) {',
      // Printable ASCII is one column a character (string-width 8 has the same fast path):
      // the help yargs lays out for every command it runs never needs the Unicode tables.
      '  if (typeof string === "string" && /^[\\u0020-\\u007E]*$/.test(string)) return string.length;',
      '  return (loaded ??= load())(string, options);',
      '}',
    ].join('\n');
  },
};

/**
 * MQTT.js loads every transport it has on its first connect (connect/index.js: ws with http,
 * https, zlib; tls) and its SOCKS proxy client with the plain TCP one (ip-address, socks, dns):
 * some 10 ms of a one-shot `mqt pub` over TCP. Each is made a function that loads its module on
 * first use. The exact lines are checked; a new version with other lines is bundled as it is.
 */
const lazyMqttTransports = {
  name: 'lazy-mqtt-transports',
  transform(code, id) {
    const file = /[\\/]node_modules[\\/]mqtt[\\/]build[\\/]lib[\\/]connect[\\/](index|tcp|tls)\.js$/.exec(id)?.[1];
    if (file === undefined) return null;
    const swaps =
      file === 'index'
        ? [
            ["protocols.ws = require('./ws').streamBuilder;", "protocols.ws = (client, opts) => require('./ws').streamBuilder(client, opts);"],
            ["protocols.wss = require('./ws').streamBuilder;", "protocols.wss = (client, opts) => require('./ws').streamBuilder(client, opts);"],
            ["protocols.mqtt = require('./tcp').default;", "protocols.mqtt = (client, opts) => require('./tcp').default(client, opts);"],
            ["protocols.tcp = require('./tcp').default;", "protocols.tcp = (client, opts) => require('./tcp').default(client, opts);"],
            ["protocols.ssl = require('./tls').default;", "protocols.ssl = (client, opts) => require('./tls').default(client, opts);"],
            ["protocols.mqtts = require('./tls').default;", "protocols.mqtts = (client, opts) => require('./tls').default(client, opts);"],
          ]
        : [['const socks_1 = __importDefault(require("./socks"));', 'const socks_1 = { get default() { return __importDefault(require("./socks")).default; } };']];
    let out = code;
    for (const [from, to] of swaps) {
      if (out.split(from).length !== 2) {
        this.warn(`mqtt's connect/${file}.js has a new shape; it is bundled as it is (its transports load on the first connect)`);
        return null;
      }
      out = out.replace(from, to);
    }
    return out;
  },
};

/**
 * The bundle's node: imports, made lazy. rolldown hoists every `import … from 'node:x'` of the
 * bundled ES modules to one `let node_x=require("node:x");` at the top, so each start loaded
 * tls, https, zlib, worker_threads, child_process, readline, perf_hooks… (~10 ms) whatever the
 * command. Where every use of such a binding is a property access (`node_x.y`), the binding is
 * left empty and each use becomes `(node_x??=require("node:x")).y`; a binding used any other way
 * (passed along, `typeof`, a shorthand property) keeps its eager require.
 */
function lazyBuiltins(text) {
  const declaration = /let (node_\w+)=require\("(node:[\w/]+)"\);(?:\1=__toESM\(\1,1\);)?/g;
  const lazy = [];
  for (const m of text.matchAll(declaration)) {
    const [whole, name, id] = m;
    // One binding of that name in the whole bundle, or the uses below could be another's.
    if (text.split(new RegExp(`(?:let|var|const) ${name}\\b`)).length !== 2) continue;
    const uses = [...text.matchAll(new RegExp(`(?<![\\w$.])${name.replaceAll('$', '\\$')}(?![\\w$])`, 'g'))];
    // The declaration itself holds one use (two with __toESM); every other use must be `name.`.
    const others = uses.filter((u) => u.index < m.index || u.index >= m.index + whole.length);
    if (others.length === 0 || !others.every((u) => text[u.index + name.length] === '.')) continue;
    lazy.push({ whole, name, load: whole.includes('__toESM') ? `__toESM(require("${id}"),1)` : `require("${id}")` });
  }
  let out = text;
  for (const { whole, name, load } of lazy) {
    out = out.replace(whole, `let ${name};`);
    out = out.replace(new RegExp(`(?<![\\w$.])${name.replaceAll('$', '\\$')}(?=\\.)`, 'g'), `(${name}??=${load})`);
  }
  return out;
}

/**
 * lru-cache (MQTT.js's topic aliases) picks its clock when it is loaded, and reading Node's
 * global `performance` loads perf_hooks (~2 ms of every `mqt pub`), though only TTL caches use
 * the clock. The choice is made on the first perf.now() instead; the exact text is checked.
 */
const lazyLruClock = {
  name: 'lazy-lru-clock',
  transform(code, id) {
    if (!/[\\/]node_modules[\\/]lru-cache[\\/]dist[\\/]commonjs[\\/]index\.js$/.test(id)) return null;
    const from = "const perf = typeof performance === 'object' &&\n    performance &&\n    typeof performance.now === 'function'\n    ? performance\n    : Date;";
    if (code.split(from).length !== 2 || /\bperf\.(?!now\(\))/.test(code)) {
      this.warn(`lru-cache at ${id} has a new shape; it is bundled as it is (it loads perf_hooks at start)`);
      return null;
    }
    return code.replace(from, "const perf = { now: () => (typeof performance === 'object' && performance && typeof performance.now === 'function' ? performance : Date).now() };");
  },
};

/** `import.meta.url` in a module of dist/ → that module's file URL, from the bundle's own place in dist/. */
const ownUrl = {
  name: 'own-import-meta-url',
  transform(code, id) {
    if (!id.startsWith(`${dist}${sep}`) || !code.includes('import.meta.url')) return null;
    const path = `./${relative(dist, id).split(sep).join('/')}`;
    // An import of its own: the module may name something `require` (connect.ts does).
    const url = `new URL(${JSON.stringify(path)}, __bundleFileUrl(__filename)).href`;
    return `import { pathToFileURL as __bundleFileUrl } from 'node:url';\n${code.replaceAll('import.meta.url', url)}`;
  },
};

for (const { input, output, lazy } of bundles) await bundleOne(input, output, lazy);

/** `lazy`: the one-shot commands' bundles take lazyBuiltins; a broker starts once and loads what it loads. */
async function bundleOne(input, output, lazy) {
  const warnings = [];
  const bundle = await rolldown({
    input,
    platform: 'node',
    plugins: [lazyStringWidth, lazyMqttTransports, lazyLruClock, ownUrl],
    external: (id) => builtins.has(id),
    // yargs' `.config({ extends })` resolves a path with import.meta.resolve; mqt does not use it.
    transform: { define: { 'import.meta.resolve': 'undefined' } },
    onLog(level, log) {
      if (level === 'warn') warnings.push(log.message);
    },
  });
  // Whitespace and comments out (a quarter less to read at each start); names stay for stack traces.
  await bundle.write({ file: output, format: 'cjs', codeSplitting: false, charset: 'ascii', minify: { compress: false, mangle: false } });
  await bundle.close();
  let text = readFileSync(output, 'utf8');
  if (lazy) writeFileSync(output, (text = lazyBuiltins(text)));
  const name = relative(root, output);
  // What the launcher names its code cache after: V8 checks a cache against the source's length
  // only, and npm gives every installed file the same mtime, so only the content tells builds apart.
  writeFileSync(`${output}.id`, `${createHash('sha256').update(text).digest('hex').slice(0, 16)}\n`);
  for (const w of warnings) process.stderr.write(`bundle-cli: ${name}: warning: ${w}\n`);
  if (/\bimport\(/.test(text) || text.includes('import.meta')) {
    process.stderr.write(`bundle-cli: ${name} still holds import() or import.meta, which fail under the code cache\n`);
    process.exitCode = 1;
  }
  // Left unescaped by the bundler (tagged template text): say so, it doubles the source in memory.
  if (/[^\u0000-\u00ff]/.test(text)) process.stderr.write(`bundle-cli: ${name}: warning: characters beyond Latin-1 left; V8 keeps its source at two bytes per character\n`);
}

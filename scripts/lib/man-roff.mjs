/**
 * The generated parts of the man pages, as roff (man(7) macros only, so groff, mandoc and
 * man -l all read them): OPTIONS from the CLI's option specs (man-cli.mjs) and EXIT STATUS from
 * the exit-status table (src/commands/exit-status.ts) and the codec's reason-code table.
 */

/** Text for roff: backslashes as \e, hyphens as \-, other than ASCII as \[uXXXX], a leading dot or quote escaped. */
export function roff(text) {
  const s = String(text)
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

/** A flag as the page shows it: `\fB\-t\fR`, `\fB\-\-topic\fR`. */
export function flagMarkup(name) {
  return `\\fB${name.length === 1 ? '\\-' : '\\-\\-'}${roff(name)}\\fR`;
}

/**
 * What a flag's value is called on the page: from its choices, else its name, else what its
 * help says it is. A new flag gets a fitting word without an edit here; VALUE at worst.
 */
export function placeholder({ key, aliases = [], describe, choices, defaultText }) {
  if (choices !== undefined) return choices.join('|');
  // The help spells the values out: "-D <packet> <name> <value>".
  const flags = [key, ...aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`).replace(/[-]/g, '\\-'));
  const spelled = new RegExp(`(?:^|\\s)(?:${flags.join('|')})((?: <[^>]+>)+)`).exec(describe);
  if (spelled !== null) return spelled[1].trim().replace(/[<>]/g, '').toUpperCase();
  const d = describe.toLowerCase();
  const byName = [
    [/^max-/, /bytes|memory|size/.test(d + key) ? 'SIZE' : 'N'],
    [/(^|-)port$/, 'PORT'],
    [/-version$/, 'VERSION'],
    [/-path$/, 'PATH'],
    [/(^|-)host$/, 'HOST'],
    [/^(url|compare)$/, key === 'compare' ? 'URL,...' : 'URL'],
    [/^(file|cafile|cert|key|output)$|-(file|cert|key|cafile)$/, 'FILE'],
    [/^(capath|persistence)$/, 'DIR'],
    [/^(username|admin-user)$/, 'USER'],
    [/^password$/, 'PASSWORD'],
    [/-env$/, 'VAR'],
    [/^id$/, 'ID'],
    [/-prefix$/, 'PREFIX'],
    [/-pid$/, 'PID'],
    [/qos$/, 'QOS'],
    [/^line-topic$/, 'SEP'],
    [/-from$/, 'CIDR'],
  ];
  for (const [pattern, word] of byName) if (pattern.test(key)) return word;
  if (/filter/.test(d) && /topic|filter/.test(key + d)) return 'FILTER';
  if (/(^|-)topic$/.test(key)) return 'TOPIC';
  if (/^whether/.test(d)) return 'true|false';
  if (/identifier/.test(d)) return 'ID';
  if (/write .*(file|page)/.test(d)) return 'FILE';
  if (/name=value|key=value/.test(d)) return 'NAME=VALUE';
  if (/regular expression/.test(d)) return 'REGEX';
  if (/\bms\b/.test(d) || key.endsWith('-ms')) return 'MS';
  if (/seconds|interval/.test(d)) return 'SECONDS';
  if (/bytes|memory|size/.test(d + key)) return 'BYTES';
  if (/this many|clients$|connections|iterations|alias/.test(d) || /^\d+$/.test(defaultText ?? '')) return 'N';
  if (key.length === 1) return 'VALUE';
  return key.replace(/^will-/, '').toUpperCase().replace(/-/g, '_');
}

/** One .TP entry: `-t, --topic TOPIC`, then the help text and its default. */
export function optionEntry(option) {
  const names = [...option.aliases.filter((a) => a.length === 1), option.key, ...option.aliases.filter((a) => a.length > 1)];
  const flags = names.map(flagMarkup);
  if (option.negatable) flags.push(flagMarkup(`no-${option.key}`));
  const word = `\\fI${roff(placeholder(option))}\\fR`;
  const value = option.value === 'required' ? ` ${word}` : option.value === 'optional' ? ` [${word}]` : '';
  const text = sentence(option.describe);
  const tail = option.defaultText !== undefined ? ` Default: ${roff(option.defaultText)}.` : '';
  return `.TP\n${flags.join(', ')}${value}\n${roff(text)}${tail.replace(/\.\.$/, '.')}`;
}

function sentence(text) {
  const t = text.trim();
  if (t === '') return 'No description.';
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** The options of one command, a .SS per --help group. `rename` maps yargs' headings to the page's. */
export function optionGroups(groups, { rename = {}, suffix = '' } = {}) {
  return groups
    .map(({ heading, options }) => `.SS ${roff((rename[heading] ?? heading) + suffix)}\n${options.map(optionEntry).join('\n')}`)
    .join('\n');
}

// ---- exit status ----------------------------------------------------------------------------

const hex = (code) => `0x${code.toString(16).padStart(2, '0')}`;

/**
 * The reason codes of 0x80 and above that the given packets may carry, one per number (the
 * connack name first when a number has several), from the codec's table.
 */
export function reasonCodeRows(reasonCodes, packets) {
  const rows = new Map();
  for (const info of reasonCodes) {
    if (info.code < 0x80 || !info.packets.some((p) => packets.includes(p))) continue;
    if (!rows.has(info.code)) rows.set(info.code, info.name);
  }
  return [...rows].map(([code, name]) => ({ code, name }));
}

/**
 * EXIT STATUS for one command (or for mqt itself with command undefined: every row, with the
 * commands named). The range rows are expanded from the codec: 3.1.1 CONNACK return codes
 * 1-5 and the 5.0 reason codes as a compact list.
 */
export function exitStatusSection(rows, codec, command, everyCommand = []) {
  const out = [];
  const ranges = [];
  for (const row of rows) {
    if (command !== undefined && !row.commands.includes(command)) continue;
    const meaning = (command !== undefined ? row.perCommand?.[command] : undefined) ?? row.meaning;
    // mqt(1) names the commands of a row that is not everyone's: "mqt sub: The -W timeout ...".
    const who = command === undefined && row.commands.length < everyCommand.length ? `${row.commands.map((c) => `\\fBmqt ${roff(c)}\\fR`).join(', ')}: ` : '';
    if (typeof row.code === 'number') {
      out.push(`.TP\n.B ${row.code}\n${who}${roff(meaning)}`);
      continue;
    }
    ranges.push({ row, meaning, who });
  }
  for (const { row, meaning, who } of ranges) {
    if (row.code === 'connack-v3') {
      const list = codec.CONNACK_RETURN_CODES_V3.map((name, code) => ({ code, name })).filter(({ code }) => code > 0);
      out.push(`.TP\n.BR ${list[0].code} \\(en ${list.at(-1).code}\n${who}${roff(meaning)}`);
      out.push(compactList(list.map(({ code, name }) => [`${code}`, name])));
    } else if (row.code === 'reason-code') {
      const packets = [...new Set(command !== undefined ? (row.packets?.[command] ?? []) : Object.values(row.packets ?? {}).flat())];
      const list = reasonCodeRows(codec.REASON_CODES, packets);
      out.push(`.TP\n.BR ${list[0].code} \\(en ${list.at(-1).code}\n${who}${roff(meaning)} ${roff(`The codes (${packets.map((p) => p.toUpperCase()).join(', ')}):`)}`);
      out.push(compactList(list.map(({ code, name }) => [`${code} (${hex(code)})`, name])));
    }
  }
  return out.join('\n');
}

/** Lines of `term  text` indented under the entry before, without blank lines between them. */
function compactList(items) {
  return ['.RS', '.PD 0', ...items.flatMap(([term, text]) => ['.TP 14', roff(term), roff(text)]), '.PD', '.RE'].join('\n');
}

// ---- mqt(1) ---------------------------------------------------------------------------------

/** The commands of mqt(1): each one's synopsis, its one-line description and its page. */
export function commandList(commands) {
  return commands
    .map((c) => `.TP\n.BR "mqt ${roff(c.usage)}"\n${roff(sentence(c.describe))} See\n.BR mqt\\-${roff(c.path.join('-'))} (1).`)
    .join('\n');
}

/**
 * MQTT 3.1.1 section 3.1 rules that bind a client, where a client of ours must keep them: the
 * commands (pub, sub, lwt-test) read their connection options in one place
 * (src/commands/options/connection.ts) and refuse, before anything is sent, a CONNECT the rule
 * forbids. (The packets themselves are MQTT.js's, or our codec's for lwt-test's victim.)
 */
import { describe, expect, it } from 'vitest';
import { readConnection } from '../../src/commands/options/connection.js';

/** No config file: the flags alone decide. */
const ctx = { command: 'pub', env: { XDG_CONFIG_HOME: '/nonexistent/mqt-conformance' } };

describe('3.1.1 CONNECT rules our commands keep', () => {
  // [MQTT-3.1.3-7] a client that sends a zero-byte client id must set Clean Session 1: -i '' with
  // -c (clean session 0) is refused, as is -i '' in 3.1, which has no empty ids; -i '' alone goes.
  it("refuses an empty client id with clean session 0, and in MQTT 3.1; allows it with clean session 1", async () => {
    await expect(readConnection({ id: '', 'disable-clean-session': true, 'protocol-version': 4 }, ctx)).rejects.toThrow(/empty client id .*needs a clean session/);
    await expect(readConnection({ id: '', 'protocol-version': 3 }, ctx)).rejects.toThrow(/empty client id/);
    const ok = await readConnection({ id: '', 'protocol-version': 4 }, ctx);
    expect(ok.clientId).toBe('');
    expect(ok.protocolVersion).toBe(4);
  });

  // [MQTT-3.1.2-22] with the user name flag 0 the password flag must be 0: before 5.0 a password
  // without a user name is refused; with one it goes.
  it('refuses a password without a user name before MQTT 5', async () => {
    await expect(readConnection({ password: 'pw', 'protocol-version': 4 }, ctx)).rejects.toThrow(/a password needs a user name/);
    await expect(readConnection({ password: 'pw', 'protocol-version': 3 }, ctx)).rejects.toThrow(/a password needs a user name/);
    const ok = await readConnection({ password: 'pw', username: 'me', 'protocol-version': 4 }, ctx);
    expect(ok.settings.username).toBe('me');
  });
});

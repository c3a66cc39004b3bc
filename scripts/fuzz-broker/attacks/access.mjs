/**
 * Attacks on access: the ACL's edge, wrong credentials, another user's persistent session.
 */
import { PROTOCOL_ERROR_CLOSE_MS, connectPacket, dial, expectClose, FUZZ_PASSWORD, FUZZ_USER, HONEST_USER, login, sub } from '../attack-kit.mjs';

/**
 * The ACL's edge, as the fuzz user: SUBSCRIBE to the well-behaved clients' topics (and #),
 * PUBLISH forged messages there at QoS 0/1/2, a will aimed there. Nothing of theirs may reach
 * this client, and nothing forged may reach them (their payload checks see it).
 */
export async function aclProbe(ctx) {
  const { rng } = ctx;
  const v = rng.pick([3, 4, 5]);
  const withWill = rng.bool(0.3);
  const extra = withWill ? { will: { topic: `honest/p${rng.int(0, 2)}/q${rng.int(0, 2)}`, payload: Buffer.from('FORGED will'), qos: rng.int(0, 2), retain: rng.bool(0.3) } } : {};
  // The broker may refuse a will it would not let this client publish (we do: CONNACK 5 / 0x87).
  const c = await login(ctx, v, extra, withWill ? 'will to honest/ refused at CONNECT' : undefined);
  if (c === undefined) return;
  const filters = ['honest/#', '#', '+/+/+', `honest/p${rng.int(0, 2)}/q${rng.int(0, 2)}`, '+/#'];
  if (v === 5) filters.push('$share/fz/honest/#');
  c.send({ type: 'subscribe', packetId: 11, subscriptions: filters.map((f) => sub(f, rng.int(0, 2))) });
  await c.next((p) => p.type === 'suback', 10_000);
  for (let i = 0; i < rng.int(1, 10); i++) {
    const qos = rng.int(0, 2);
    const packetId = 20 + i;
    c.send({ type: 'publish', topic: `honest/p${rng.int(0, 2)}/q${rng.int(0, 2)}`, payload: Buffer.from(`FORGED ${i}`), qos, retain: rng.bool(0.2), dup: false, ...(qos > 0 ? { packetId } : {}) });
    if (qos === 2) c.send({ type: 'pubrel', packetId });
  }
  await ctx.sleep(rng.int(500, 2500)); // reading all the while: the watch in dial() judges
  c.destroy(); // unclean: a will, if the broker took it, would go now
}

/** Wrong passwords, no user name, an unknown user: every one refused (CONNACK ≠ 0 or a close), never let in. */
export async function badCredentials(ctx) {
  const { rng } = ctx;
  const v = rng.pick([3, 4, 5]);
  const variants = [
    { username: HONEST_USER, password: Buffer.from(FUZZ_PASSWORD) },
    { username: FUZZ_USER, password: Buffer.from(`${FUZZ_PASSWORD}x`) },
    { username: FUZZ_USER, password: Buffer.alloc(0) },
    { username: FUZZ_USER },
    { username: undefined, password: undefined },
    { username: 'nobody', password: Buffer.from('nobody') },
    { username: HONEST_USER },
  ];
  if (v === 5) variants.push({ username: undefined, password: Buffer.from(FUZZ_PASSWORD) });
  const creds = rng.pick(variants);
  const c = await dial(ctx, v);
  if (c === undefined) return;
  const packet = connectPacket(ctx, v);
  delete packet.username;
  delete packet.password;
  if (creds.username !== undefined) packet.username = creds.username;
  if (creds.password !== undefined) packet.password = creds.password;
  c.clientId = packet.clientId;
  c.send(packet);
  const ack = await c.next((p) => p.type === 'connack', 10_000);
  if (ack !== undefined && ack.reasonCode === 0) {
    ctx.intrusion(`v${v} CONNECT as ${creds.username ?? '(anonymous)'} with ${creds.password === undefined ? 'no password' : 'a wrong password'} was accepted`);
  }
  await expectClose(ctx, c, PROTOCOL_ERROR_CLOSE_MS, 'a refused CONNECT');
  c.destroy();
}

/**
 * The fuzz user resumes the persistent session the honest user left (run.mjs makes it,
 * subscribed to honest/#, its queue filling). Client ids are not bound to users, as in
 * mosquitto, so it may take the session; never one of its messages (the watch in dial()).
 */
export async function sessionHijack(ctx) {
  const { rng } = ctx;
  const v = rng.pick([4, 5]);
  const c = await login(ctx, v, { clientId: ctx.victimId, clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) });
  if (c === undefined) return;
  await ctx.sleep(rng.int(200, 1500));
  c.destroy();
}

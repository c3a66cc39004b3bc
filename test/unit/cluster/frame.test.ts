/**
 * The bytes between nodes: a forwarded message survives the trip exactly (payload, properties,
 * share groups, identity), a damaged frame is an error of its own and never an out-of-bounds
 * read, and a control message that is not one is dropped, not thrown.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeControl, decodeFrame, encodeControl, encodeFrame, FrameError, type Control, type MessageFrame } from '../../../src/core/cluster/frame.js';

const base: MessageFrame = {
  origin: 'node-a',
  originId: 42,
  topic: 'heizung/wohnzimmer',
  payload: Buffer.from('21.5'),
  qos: 1,
  retain: false,
  properties: undefined,
  publisherId: 'thermostat',
  expiresAt: 0,
  normal: true,
  shares: [],
};

describe('cluster message frames', () => {
  it('round-trips a message with properties, share groups, a unicode topic and an empty payload', () => {
    const f: MessageFrame = {
      ...base,
      topic: 'zähler/⚡/1',
      payload: Buffer.alloc(0),
      qos: 2,
      retain: true,
      properties: { contentType: 'text/plain', correlationData: Buffer.from([0, 1, 2]), responseTopic: 'r/1', payloadFormatIndicator: 1, userProperties: [['a', '1'], ['b', '2'], ['b', '3']] },
      expiresAt: 1_800_000_000_000,
      normal: false,
      shares: ['$share/g/zähler/#', '$share/h/+/⚡/1'],
    };
    const back = decodeFrame(encodeFrame(f));
    expect({ ...back, payload: back.payload.toString('hex') }).toEqual({ ...f, payload: '' });
  });

  it('leaves out the per-hop properties: expiry (carried as expiresAt), topic alias, subscription ids', () => {
    const properties = { contentType: 'a', messageExpiryInterval: 60, topicAlias: 3, subscriptionIdentifiers: [1, 300] };
    expect(decodeFrame(encodeFrame({ ...base, properties })).properties).toEqual({ contentType: 'a' });
    expect(decodeFrame(encodeFrame({ ...base, properties: { messageExpiryInterval: 60 } })).properties).toBeUndefined();
  });

  it('refuses to encode what it could not read back', () => {
    expect(() => encodeFrame({ ...base, originId: -1 })).toThrow(FrameError);
    expect(() => encodeFrame({ ...base, originId: 1.5 })).toThrow(FrameError);
    expect(() => encodeFrame({ ...base, topic: 'x'.repeat(70_000) })).toThrow(FrameError);
  });

  it('rejects unknown flags and QoS 3', () => {
    const buf = encodeFrame(base);
    const q3 = Buffer.from(buf);
    q3[1] = q3[1]! | 3;
    expect(() => decodeFrame(q3)).toThrow(FrameError);
    const odd = Buffer.from(buf);
    odd[1] = odd[1]! | 64;
    expect(() => decodeFrame(odd)).toThrow(/unknown flags/);
  });

  it('carries a 256 KB payload as a view, not a copy', () => {
    const payload = Buffer.alloc(256 * 1024, 7);
    const buf = encodeFrame({ ...base, payload });
    const back = decodeFrame(buf);
    expect(back.payload.equals(payload)).toBe(true);
    expect(back.payload.buffer).toBe(buf.buffer);
  });

  it('round-trips arbitrary frames', () => {
    const str = fc.string({ maxLength: 40 });
    fc.assert(
      fc.property(
        fc.record({
          origin: str,
          originId: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          topic: str,
          payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
          qos: fc.constantFrom(0, 1, 2),
          retain: fc.boolean(),
          publisherId: str,
          expiresAt: fc.integer({ min: 0, max: 2 ** 50 }),
          normal: fc.boolean(),
          shares: fc.array(str, { maxLength: 4 }),
          ct: fc.option(str, { nil: undefined }),
        }),
        (r) => {
          const { ct, ...rest } = r;
          const f: MessageFrame = { ...rest, qos: r.qos as 0 | 1 | 2, properties: ct === undefined ? undefined : { contentType: ct } };
          const back = decodeFrame(encodeFrame(f));
          expect({ ...back, payload: Buffer.from(back.payload) }).toEqual(f);
        },
      ),
    );
  });

  it('rejects every truncation of a valid frame, and another format version, with a FrameError', () => {
    const buf = encodeFrame({ ...base, properties: { contentType: 'x' }, shares: ['$share/g/t'], payload: Buffer.alloc(0) });
    for (let n = 0; n < buf.length; n++) {
      expect(() => decodeFrame(buf.subarray(0, n)), `cut at ${n}`).toThrow(FrameError);
    }
    const other = Buffer.from(buf);
    other[0] = 2;
    expect(() => decodeFrame(other)).toThrow(/format version 2/);
  });
});

describe('cluster control messages', () => {
  it('round-trips each kind', () => {
    const all: Control[] = [
      { t: 'interest', node: 'a', deltas: [{ filter: 'x/#', count: 1 }] },
      { t: 'hello', node: 'a' },
      { t: 'bye', node: 'a' },
      { t: 'req', id: 'a:1', from: 'a', op: 'release', clientId: 'c', discard: true },
      { t: 'res', id: 'a:1', from: 'b', ok: false, error: 'gone', data: { late: [] } },
    ];
    for (const c of all) {
      expect(decodeControl(encodeControl(c))).toEqual(c);
    }
  });

  it('drops what is not a control message', () => {
    for (const bad of ['', 'nope', '[]', 'null', '{"t":"x"}', '{"t":"hello"}', '{"t":"interest","node":"a","deltas":[{"filter":1,"count":1}]}', '{"t":"interest","node":"a","deltas":[{"filter":"x","count":-1}]}', '{"t":"req","id":"1","from":"a","op":"explode"}', '{"t":"req","id":"1","from":"a","op":"kick","discard":"yes"}', '{"t":"res","id":"1","from":"a"}']) {
      expect(decodeControl(bad), bad).toBeUndefined();
    }
  });
});

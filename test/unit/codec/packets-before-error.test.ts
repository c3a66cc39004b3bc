/**
 * Parser.push throws at the first malformed packet, and the error carries the packets the same
 * chunk completed before it: the receiver handles those first (a CONNECT answered, a DISCONNECT
 * that discards the will) whatever way TCP cut the stream.
 */
import { describe, expect, it } from 'vitest';
import { encode, MqttError, Parser } from '../../../src/core/codec/index.js';

const connect = encode({ type: 'connect', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'c' }, 4);
const publish = encode({ type: 'publish', topic: 'a/b', payload: Buffer.from('xy'), qos: 0, retain: false, dup: false }, 4);
const disconnect = encode({ type: 'disconnect' }, 4);
/** PUBREL with flags 0x0: 0x2 is required [MQTT-2.2.2-2]. */
const bad = Buffer.from([0x60, 0x02, 0x00, 0x01]);

function thrown(fn: () => unknown): MqttError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MqttError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('the packets before a malformed one', () => {
  it('are on the error, in order, when one chunk holds them and the bad packet', () => {
    const err = thrown(() => new Parser().push(Buffer.concat([connect, publish, disconnect, bad])));
    expect(err.packetsBefore?.map((p) => p.type)).toEqual(['connect', 'publish', 'disconnect']);
  });

  it('include a packet begun in an earlier chunk and completed by this one', () => {
    const parser = new Parser();
    const stream = Buffer.concat([connect, publish, bad]);
    const cut = connect.length + 3; // inside the PUBLISH
    expect(parser.push(stream.subarray(0, cut)).map((p) => p.type)).toEqual(['connect']);
    const err = thrown(() => parser.push(stream.subarray(cut)));
    expect(err.packetsBefore?.map((p) => p.type)).toEqual(['publish']);
  });

  it('are absent when the bad packet comes first', () => {
    const err = thrown(() => new Parser().push(Buffer.concat([bad, connect])));
    expect(err.packetsBefore).toBeUndefined();
  });
});

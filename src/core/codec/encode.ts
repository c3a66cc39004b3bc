/** encode(packet, version): one packet to its bytes, in a buffer sized once. */
import { ReasonCode } from './constants.js';
import { MqttError } from './errors.js';
import { encodeConnack, encodeConnect } from './packets/connect.js';
import { encodeAuth, encodeDisconnect, encodePingreq, encodePingresp } from './packets/control.js';
import { encodeAck, encodePublish } from './packets/publish.js';
import { encodeSuback, encodeSubscribe, encodeUnsuback, encodeUnsubscribe } from './packets/subscribe.js';
import type { Packet, ProtocolVersion } from './types.js';

/**
 * Encodes one packet for protocol `version` (3 = 3.1, 4 = 3.1.1, 5 = 5.0). CONNECT carries its
 * own version and uses it. Fields a version lacks (5.0 properties and reason codes before 5.0)
 * are left out. Throws MqttError when the packet cannot be expressed.
 */
export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet, version);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return encodeAck(packet, version);
    case 'connect':
      return encodeConnect(packet);
    case 'connack':
      return encodeConnack(packet, version);
    case 'subscribe':
      return encodeSubscribe(packet, version);
    case 'suback':
      return encodeSuback(packet, version);
    case 'unsubscribe':
      return encodeUnsubscribe(packet, version);
    case 'unsuback':
      return encodeUnsuback(packet, version);
    case 'pingreq':
      return encodePingreq();
    case 'pingresp':
      return encodePingresp();
    case 'disconnect':
      return encodeDisconnect(packet, version);
    case 'auth':
      if (version !== 5) throw new MqttError(ReasonCode.ProtocolError, 'AUTH exists only in MQTT 5');
      return encodeAuth(packet);
    default:
      throw new MqttError(ReasonCode.MalformedPacket, `unknown packet type ${JSON.stringify((packet as { type: unknown }).type)}`);
  }
}

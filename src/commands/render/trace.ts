/**
 * `-d/--debug` for the client commands: one line per packet sent or received, in mosquitto's
 * -d wording ("Client <id> sending PUBLISH (d0, q1, r0, m1, 'a/b', ... (4 bytes))") so a
 * mosquitto user reads it at a glance. Pure: the packet in, the line out.
 */
import type { MqttPacket as Packet } from '../../core/client/connect.js';
import { safe } from './publish-report.js';

const flag = (b: boolean | undefined): string => (b ? '1' : '0');

function rc(packet: { reasonCode?: number | undefined; returnCode?: number | undefined }): string {
  const code = packet.reasonCode ?? packet.returnCode;
  return code === undefined ? '' : ` (${code})`;
}

export function traceLine(direction: 'sent' | 'received', packet: Packet, clientId: string): string {
  const verb = direction === 'sent' ? 'sending' : 'received';
  const name = packet.cmd.toUpperCase();
  let detail = '';
  switch (packet.cmd) {
    case 'connect':
      detail = ` (p${packet.protocolVersion ?? 4}, c${flag(packet.clean)}, k${packet.keepalive ?? 0}${packet.username !== undefined ? `, u'${safe(packet.username)}'` : ''})`;
      break;
    case 'connack':
      detail = rc(packet);
      break;
    case 'publish': {
      const bytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
      const topic = packet.topic === '' && packet.properties?.topicAlias !== undefined ? `alias ${packet.properties.topicAlias}` : `'${safe(packet.topic)}'`;
      detail = ` (d${flag(packet.dup)}, q${packet.qos}, r${flag(packet.retain)}, m${packet.messageId ?? 0}, ${topic}, ... (${bytes} bytes))`;
      break;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      detail = ` (m${packet.messageId ?? 0}, rc${packet.reasonCode ?? 0})`;
      break;
    case 'subscribe':
      detail = ` (m${packet.messageId ?? 0}, ${packet.subscriptions.map((s) => `'${safe(s.topic)}' q${s.qos}`).join(', ')})`;
      break;
    case 'suback':
      detail = ` (m${packet.messageId ?? 0}, ${(packet.granted as number[]).join(', ')})`;
      break;
    case 'unsubscribe':
    case 'unsuback':
      detail = ` (m${packet.messageId ?? 0})`;
      break;
    case 'disconnect':
      detail = rc(packet);
      break;
    default:
      break;
  }
  return `Client ${safe(clientId)} ${verb} ${name}${detail}`;
}

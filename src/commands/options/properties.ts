/**
 * `-D/--property <packet> <name> <value>`: any MQTT 5 property a client may send, checked
 * against the codec's property table (mosquitto's client_props.c). Dedicated flags exist only
 * for common ones (--message-expiry, --will-delay, -x, …); this reaches the rest.
 */
import type { Options } from 'yargs';
import { parsePropertyWords, PROPERTY_PACKET_NAMES, PropertyError, type PacketProperties, type PropertyPacket } from '../../core/client/properties.js';
import { list, OptionError, type ArgvLike } from './values.js';

export const propertyOptions = {
  property: {
    alias: 'D',
    type: 'string',
    array: true,
    requiresArg: true,
    describe: `MQTT 5 property: -D <packet> <name> <value>, packet one of ${PROPERTY_PACKET_NAMES.join(', ')}; names as in mosquitto (user-property takes a key and a value). Repeatable`,
  },
} as const satisfies Record<string, Options>;

/**
 * The -D properties by packet. `packets` are those the command sends: a property for a packet
 * it never sends is an error, not silently ignored.
 */
export function readProperties(argv: ArgvLike, command: string, packets: readonly PropertyPacket[]): PacketProperties {
  const words = list(argv, 'property');
  if (words.length === 0) return {};
  let parsed: PacketProperties;
  try {
    parsed = parsePropertyWords(words);
  } catch (err) {
    if (err instanceof PropertyError) throw new OptionError(`-D: ${err.message}`);
    throw err;
  }
  for (const packet of Object.keys(parsed) as PropertyPacket[]) {
    if (!packets.includes(packet)) throw new OptionError(`-D ${packet}: mqt ${command} sends no ${packet === 'will' ? 'will' : packet.toUpperCase()} (it takes ${packets.join(', ')})`);
  }
  return parsed;
}

/** `-D <packet>` as a name in messages about MQTT 5 ("-D publish needs MQTT 5"). */
export function givenPropertyPackets(props: PacketProperties): string[] {
  return Object.keys(props).map((p) => `-D ${p}`);
}

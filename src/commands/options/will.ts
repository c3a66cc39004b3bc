/**
 * The will: what the broker publishes for a client that disappears without DISCONNECT
 * (mosquitto's --will-* flags), plus its MQTT 5 properties, spelled --will-delay,
 * --will-expiry, --will-content-type, … (`-D will <name> <value>` reaches the rest).
 */
import type { Options } from 'yargs';
import type { QoS } from '../../core/codec/types.js';
import type { WillOptions } from '../../core/client/types.js';
import { validateTopicName } from '../../core/topic/validate.js';
import { givenMessageFlags, messagePropertyOptions, readMessageProperties } from './message.js';
import { integer, OptionError, str, text, type ArgvLike } from './values.js';

export const willOptions = {
  'will-topic': { type: 'string', requiresArg: true, coerce: text('will-topic'), describe: 'Topic of the will message' },
  'will-payload': { type: 'string', requiresArg: true, coerce: text('will-payload', { allowEmpty: true }), describe: 'Payload of the will message (empty when omitted)' },
  'will-qos': { type: 'string', requiresArg: true, coerce: integer('will-qos', 0, 2), defaultDescription: '0', describe: 'QoS of the will message' },
  'will-retain': { type: 'boolean', describe: 'Retain the will message' },
  'will-delay': { type: 'string', requiresArg: true, coerce: integer('will-delay', 0, 0xffff_ffff), describe: 'MQTT 5: seconds the broker waits before publishing the will' },
  ...messagePropertyOptions('will-'),
} as const satisfies Record<string, Options>;

export interface WillGroup {
  will: WillOptions | undefined;
  /** Will flags that need MQTT 5. */
  mqtt5: string[];
}

export function readWill(argv: ArgvLike): WillGroup {
  const topic = str(argv, 'will-topic');
  const payload = str(argv, 'will-payload');
  const mqtt5 = [...(argv['will-delay'] !== undefined ? ['--will-delay'] : []), ...givenMessageFlags(argv, 'will-')];
  if (topic === undefined) {
    const orphans = [
      ...(payload !== undefined ? ['--will-payload'] : []),
      ...(argv['will-qos'] !== undefined ? ['--will-qos'] : []),
      ...(argv['will-retain'] === true ? ['--will-retain'] : []),
      ...mqtt5,
    ];
    if (orphans.length > 0) throw new OptionError(`${orphans.join(', ')} ${orphans.length === 1 ? 'needs' : 'need'} --will-topic`);
    return { will: undefined, mqtt5: [] };
  }
  try {
    // [MQTT-3.1.3-11] the Will Topic is a Topic Name: no wildcards.
    validateTopicName(topic);
  } catch (err) {
    throw new OptionError(`--will-topic: ${(err as Error).message}`);
  }
  const properties = readMessageProperties(argv, 'will-') ?? {};
  const delay = argv['will-delay'];
  if (typeof delay === 'number') properties.willDelayInterval = delay;
  return {
    will: {
      topic,
      payload: Buffer.from(payload ?? '', 'utf8'),
      qos: ((argv['will-qos'] as number | undefined) ?? 0) as QoS,
      retain: argv['will-retain'] === true,
      properties: Object.keys(properties).length > 0 ? properties : undefined,
    },
    mqtt5,
  };
}

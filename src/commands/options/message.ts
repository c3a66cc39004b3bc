/**
 * The MQTT 5 properties of an application message, which a PUBLISH and a will both carry
 * (5.0 sections 3.1.3.2 and 3.3.2.3): one definition, two spellings. `mqt pub` uses them as
 * --message-expiry, --content-type, …; the will group as --will-expiry, --will-content-type, ….
 */
import type { Options } from 'yargs';
import type { Properties } from '../../core/codec/types.js';
import { validateTopicName } from '../../core/topic/validate.js';
import { integer, keyValue, list, OptionError, str, text, type ArgvLike } from './values.js';

export type MessagePrefix = '' | 'will-';

/** The flag names for one prefix. Expiry is `--message-expiry` for a publish but `--will-expiry` for a will. */
export function messageFlags(prefix: MessagePrefix) {
  return {
    expiry: prefix === '' ? 'message-expiry' : 'will-expiry',
    contentType: `${prefix}content-type`,
    responseTopic: `${prefix}response-topic`,
    correlationData: `${prefix}correlation-data`,
    payloadFormat: `${prefix}payload-format-indicator`,
    userProperty: `${prefix}user-property`,
  } as const;
}

export function messagePropertyOptions(prefix: MessagePrefix): Record<string, Options> {
  const f = messageFlags(prefix);
  const what = prefix === '' ? 'message' : 'will message';
  return {
    [f.expiry]: { type: 'string', requiresArg: true, coerce: integer(f.expiry, 0, 0xffff_ffff), describe: `MQTT 5: the broker drops the ${what} after this many seconds` },
    [f.contentType]: { type: 'string', requiresArg: true, coerce: text(f.contentType, { allowEmpty: true }), describe: `MQTT 5: content type of the ${what} (e.g. application/json)` },
    [f.responseTopic]: { type: 'string', requiresArg: true, coerce: text(f.responseTopic), describe: `MQTT 5: topic a responder should answer the ${what} on` },
    [f.correlationData]: { type: 'string', requiresArg: true, coerce: text(f.correlationData, { allowEmpty: true }), describe: 'MQTT 5: correlation data returned with the response' },
    [f.payloadFormat]: { type: 'boolean', describe: `MQTT 5: mark the ${what}'s payload as UTF-8 text (payload format indicator 1)` },
    [f.userProperty]: { type: 'string', requiresArg: true, describe: `MQTT 5: user property key=value on the ${what} (repeatable)` },
  };
}

/** The properties the flags of `prefix` set; undefined when none is given. */
export function readMessageProperties(argv: ArgvLike, prefix: MessagePrefix): Properties | undefined {
  const f = messageFlags(prefix);
  const props: Properties = {};
  const expiry = argv[f.expiry];
  if (typeof expiry === 'number') props.messageExpiryInterval = expiry;
  const contentType = str(argv, f.contentType);
  if (contentType !== undefined) props.contentType = contentType;
  const responseTopic = str(argv, f.responseTopic);
  if (responseTopic !== undefined) {
    try {
      // [MQTT-3.3.2-14] the Response Topic is a Topic Name: no wildcards.
      validateTopicName(responseTopic);
    } catch (err) {
      throw new OptionError(`--${f.responseTopic}: ${(err as Error).message}`);
    }
    props.responseTopic = responseTopic;
  }
  const correlation = str(argv, f.correlationData);
  if (correlation !== undefined) props.correlationData = Buffer.from(correlation, 'utf8');
  if (argv[f.payloadFormat] === true) props.payloadFormatIndicator = 1;
  const users = list(argv, f.userProperty).map((kv) => keyValue(f.userProperty, kv));
  if (users.length > 0) props.userProperties = users;
  return Object.keys(props).length > 0 ? props : undefined;
}

/** The flags of `prefix` that were given, named for messages ("--content-type needs MQTT 5"). */
export function givenMessageFlags(argv: ArgvLike, prefix: MessagePrefix): string[] {
  return Object.values(messageFlags(prefix)).filter((flag) => argv[flag] !== undefined && argv[flag] !== false).map((flag) => `--${flag}`);
}

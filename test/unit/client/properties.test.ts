import { describe, expect, it } from 'vitest';
import { PROPERTIES } from '../../../src/core/codec/properties.js';
import {
  clientProperties,
  findProperty,
  kebabName,
  mergeProperties,
  parsePropertyWords,
  PropertyError,
  toMqttJsProperties,
} from '../../../src/core/client/properties.js';

describe('kebabName', () => {
  it('spells every property of the table as mosquitto does', () => {
    const names = PROPERTIES.map(kebabName);
    expect(names).toContain('message-expiry-interval');
    expect(names).toContain('user-property');
    expect(names).toContain('subscription-identifier');
    expect(names).toContain('payload-format-indicator');
    expect(names).toContain('maximum-qos');
    // Every name is distinct, so a kebab name finds exactly one property.
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('clientProperties', () => {
  it.each([
    ['connect', ['session-expiry-interval', 'authentication-method', 'authentication-data', 'request-problem-information', 'request-response-information', 'receive-maximum', 'topic-alias-maximum', 'user-property', 'maximum-packet-size']],
    ['publish', ['payload-format-indicator', 'message-expiry-interval', 'content-type', 'response-topic', 'correlation-data', 'topic-alias', 'user-property']],
    ['will', ['payload-format-indicator', 'message-expiry-interval', 'content-type', 'response-topic', 'correlation-data', 'will-delay-interval', 'user-property']],
    ['subscribe', ['subscription-identifier', 'user-property']],
    ['unsubscribe', ['user-property']],
    ['disconnect', ['session-expiry-interval', 'reason-string', 'user-property']],
  ] as const)('%s takes exactly the properties of 5.0 table 2-4 that a client sends', (packet, expected) => {
    expect(clientProperties(packet).map(kebabName).sort()).toEqual([...expected].sort());
  });
});

describe('parsePropertyWords', () => {
  it('reads triples, by kebab or camelCase name, typed by the table', () => {
    const words = ['connect', 'receive-maximum', '10', 'publish', 'contentType', 'text/plain', 'publish', 'correlation-data', 'abc', 'will', 'will-delay-interval', '5'];
    expect(parsePropertyWords(words)).toEqual({
      connect: { receiveMaximum: 10 },
      publish: { contentType: 'text/plain', correlationData: Buffer.from('abc') },
      will: { willDelayInterval: 5 },
    });
  });

  it('reads user-property as a key and a value, keeping order and repeats', () => {
    expect(parsePropertyWords(['publish', 'user-property', 'a', '1', 'publish', 'user-property', 'b', '2', 'publish', 'user-property', 'a', '3'])).toEqual({
      publish: { userProperties: [['a', '1'], ['b', '2'], ['a', '3']] },
    });
  });

  it('takes one subscription identifier on SUBSCRIBE', () => {
    expect(parsePropertyWords(['subscribe', 'subscription-identifier', '7'])).toEqual({ subscribe: { subscriptionIdentifiers: [7] } });
    // At most one Subscription Identifier (5.0 section 3.8.2.1.2) in a SUBSCRIBE.
    expect(() => parsePropertyWords(['subscribe', 'subscription-identifier', '7', 'subscribe', 'subscription-identifier', '8'])).toThrow(/at most one/);
  });

  it.each([
    ['an unknown packet', ['connack', 'x', '1'], /'connack' is not a packet that takes properties; use one of connect, publish/],
    ['an unknown property', ['publish', 'colour', 'red'], /'colour' is not an MQTT 5 property; publish takes payload-format-indicator/],
    ['a property of another packet', ['publish', 'receive-maximum', '1'], /receive-maximum cannot be sent in publish/],
    // [MQTT-3.3.4-6] a client's PUBLISH carries no Subscription Identifier.
    ['a subscription identifier on PUBLISH', ['publish', 'subscription-identifier', '1'], /subscription-identifier cannot be sent in publish/],
    ['a server reference on DISCONNECT', ['disconnect', 'server-reference', 'x'], /server-reference cannot be sent in disconnect/],
    ['a missing value', ['publish', 'content-type'], /-D publish content-type needs a value/],
    ['a missing user-property value', ['publish', 'user-property', 'k'], /needs a key and a value/],
    ['a missing name', ['publish'], /needs a property name and a value/],
    ['not a number', ['publish', 'message-expiry-interval', 'soon'], /message-expiry-interval must be a whole number from 0 to 4294967295, got 'soon'/],
    ['a negative number', ['connect', 'receive-maximum', '-1'], /from 0 to 65535/],
    ['too large a number', ['connect', 'receive-maximum', '65536'], /from 0 to 65535/],
    // [MQTT-3.3.2-8] a Topic Alias of 0 is a Protocol Error.
    ['a topic alias of 0', ['publish', 'topic-alias', '0'], /topic-alias may not be 0/],
    ['a receive maximum of 0', ['connect', 'receive-maximum', '0'], /receive-maximum may not be 0/],
    ['a flag byte other than 0 or 1', ['publish', 'payload-format-indicator', '2'], /payload-format-indicator may not be 2/],
    ['a property given twice', ['publish', 'content-type', 'a', 'publish', 'content-type', 'b'], /publish content-type was given more than once/],
    ['a stray word after a triple', ['publish', 'content-type', 'a', 'heizung', '21.5'], /'heizung' is not a packet .* put positional arguments before -D/],
  ])('refuses %s', (_name, words, message) => {
    expect(() => parsePropertyWords(words)).toThrow(PropertyError);
    expect(() => parsePropertyWords(words)).toThrow(message);
  });
});

describe('findProperty', () => {
  it('finds by either spelling', () => {
    expect(findProperty('connect', 'session-expiry-interval').id).toBe(0x11);
    expect(findProperty('connect', 'sessionExpiryInterval').id).toBe(0x11);
  });
});

describe('mergeProperties', () => {
  it('adds user properties and refuses a scalar set twice', () => {
    expect(mergeProperties('publish', { userProperties: [['a', '1']] }, undefined, { userProperties: [['b', '2']], contentType: 'x' })).toEqual({
      userProperties: [['a', '1'], ['b', '2']],
      contentType: 'x',
    });
    expect(() => mergeProperties('connect', { sessionExpiryInterval: 1 }, { sessionExpiryInterval: 2 })).toThrow(/session-expiry-interval was given more than once/);
    expect(mergeProperties('publish', undefined, undefined)).toBeUndefined();
  });
});

describe('toMqttJsProperties', () => {
  it('converts to MQTT.js names and types', () => {
    expect(
      toMqttJsProperties({
        payloadFormatIndicator: 1,
        requestProblemInformation: 0,
        requestResponseInformation: 1,
        subscriptionIdentifiers: [3],
        userProperties: [['a', '1'], ['b', '2'], ['a', '3']],
        correlationData: Buffer.from('c'),
        messageExpiryInterval: 60,
      }),
    ).toEqual({
      payloadFormatIndicator: true,
      requestProblemInformation: false,
      requestResponseInformation: true,
      subscriptionIdentifier: 3,
      userProperties: { a: ['1', '3'], b: '2' },
      correlationData: Buffer.from('c'),
      messageExpiryInterval: 60,
    });
    expect(toMqttJsProperties({})).toBeUndefined();
    expect(toMqttJsProperties(undefined)).toBeUndefined();
  });
});

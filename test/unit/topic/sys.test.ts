/** The $SYS rule for publishes and wills (topic/sys.ts): the broker's own, but for a bridge's state. */
import { describe, expect, it } from 'vitest';
import { isSysTopic, sysAllowsPublish } from '../../../src/core/topic/sys.js';

describe('sysAllowsPublish', () => {
  it.each([
    ['a/b', false, true],
    ['$SYSTEM/x', false, true],
    ['$share-like/x', false, true],
    ['$SYS', false, false],
    ['$SYS/', false, false],
    ['$SYS/broker/version', false, false],
    ['$SYS/broker/connection/other/state', false, false],
    ['$SYS/broker/connection/other/state', true, true],
    ['$SYS/broker/connection/any/depth/x', true, true],
    ['$SYS/broker/connection/', true, false],
    ['$SYS/broker/connection', true, false],
    ['$SYS/broker/version', true, false],
    ['$SYS', true, false],
    // Any client: its own state topic, mosquitto's default notification topic, and nothing else.
    ['$SYS/broker/connection/me/state', false, true],
    ['$SYS/broker/connection/me/state/x', false, false],
    ['$SYS/broker/connection/me/stat', false, false],
    ['$SYS/broker/connection/me2/state', false, false],
    ['$SYS/broker/connection/m/state', false, false],
    ['$SYS/broker/connection/me/other', false, false],
  ] as const)('%s (bridge %s, client id "me"): %s', (topic, bridge, allowed) => {
    expect(sysAllowsPublish(topic, bridge, 'me')).toBe(allowed);
  });

  it('an empty client id owns no state topic', () => {
    expect(sysAllowsPublish('$SYS/broker/connection//state', false, '')).toBe(false);
  });

  it('isSysTopic: $SYS and below, not a longer first level', () => {
    expect([isSysTopic('$SYS'), isSysTopic('$SYS/a'), isSysTopic('$SYSX'), isSysTopic('SYS/a')]).toEqual([true, true, false, false]);
  });
});

import { reasonCodeName } from './constants.js';
import type { Packet } from './types.js';

/**
 * Every protocol failure in mqt carries the reason code the spec assigns to it, so the
 * broker can answer with the right CONNACK or DISCONNECT without parsing message text.
 */
export class MqttError extends Error {
  readonly reasonCode: number;
  /** Parser.push: the packets the same chunk completed before the malformed one, in order. */
  packetsBefore?: Packet[];

  constructor(reasonCode: number, message?: string) {
    super(message ?? reasonCodeName(reasonCode));
    this.name = 'MqttError';
    this.reasonCode = reasonCode;
  }
}

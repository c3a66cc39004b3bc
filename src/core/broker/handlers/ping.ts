import type { HandlerConnection } from '../types.js';

const PINGRESP = Buffer.from([0xd0, 0x00]);

/** [MQTT-3.12.4-1] PINGREQ is answered with PINGRESP; the activity itself fed the keep-alive. */
export function handlePingreq(conn: HandlerConnection): void {
  conn.sendBytes(PINGRESP, false);
}

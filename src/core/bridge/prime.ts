/**
 * The bridge's session in our broker, opened once at start with its subscriptions and closed at
 * once, before the remote is reached: from then on our broker queues for the bridge what it
 * subscribed to (mosquitto's bridges subscribe locally at start too). What the session delivers
 * meanwhile is not acknowledged, so it stays in flight and comes again on the real connection.
 */
import type { Broker, TransportInfo } from '../broker/index.js';
import { encode, Parser, reasonCodeName } from '../codec/index.js';
import type { ConnectPacket, Packet, Subscription } from '../codec/types.js';
import { LocalPipe } from './local-pipe.js';

/** Our broker answers at once; this only bounds one that is closing. */
const PRIME_TIMEOUT_MS = 10_000;

export function primeSession(broker: Broker, transport: TransportInfo, connect: ConnectPacket, subscriptions: Subscription[], fail: (why: string) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const parser = new Parser({ protocolVersion: 5 });
    const pipe = new LocalPipe({
      onData(chunk) {
        let packets: Packet[];
        try {
          packets = parser.push(chunk);
        } catch (err) {
          fail(`bad packet from our broker: ${(err as Error).message}`);
          pipe.close();
          return;
        }
        for (const p of packets) {
          if (p.type === 'connack') {
            if (p.reasonCode !== 0) {
              fail(`our broker refused the bridge's session (${reasonCodeName(p.reasonCode)})`);
              pipe.close();
              return;
            }
            if (subscriptions.length === 0) pipe.close();
            else pipe.send(encode({ type: 'subscribe', packetId: 1, subscriptions }, 5));
          } else if (p.type === 'suback') pipe.close();
        }
      },
      onDrain() {},
      onClose() {
        clearTimeout(timer);
        resolve();
      },
    });
    const timer = setTimeout(() => pipe.close(), PRIME_TIMEOUT_MS);
    timer.unref();
    try {
      broker.accept(pipe, transport);
    } catch (err) {
      fail((err as Error).message);
      clearTimeout(timer);
      resolve();
      return;
    }
    pipe.send(encode(connect, 5));
  });
}

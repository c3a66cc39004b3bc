/**
 * The connect() hooks every client command passes: a note when a broker refuses MQTT 5 and
 * 3.1.1 is used instead, and the `-d` packet trace. One place, so the commands say it alike.
 */
import type { ConnectHooks } from '../../core/client/connect.js';
import type { ClientSetup } from '../options/index.js';
import { traceLine } from './trace.js';

/**
 * `note` prints one human line on stderr (it knows the command and --quiet). The fall-back note
 * shows with -d or on a terminal; a pipe stays clean. `who` names the client in trace lines.
 */
export function clientConnectHooks(setup: ClientSetup, note: (line: string) => void, who: string = setup.connection.clientId): Pick<ConnectHooks, 'onFallback' | 'onPacket'> {
  return {
    onFallback: (why) => {
      if (setup.global.debug || process.stderr.isTTY) note(`${why}; using MQTT 3.1.1`);
    },
    onPacket: setup.global.debug ? (direction, packet) => process.stderr.write(`${traceLine(direction, packet, who)}\n`) : undefined,
  };
}

/**
 * Which received messages `mqt sub` shows, decided before any formatting, in mosquitto_sub's
 * order (client/sub_client.c my_message_callback): -R drops retained messages, then -T drops
 * topics matching a filter-out filter. Only shown messages count towards -C.
 */
import { topicMatches } from '../topic/match.js';
import type { ReceivedMessage } from './message.js';

export interface MessageFilterOptions {
  /** -T: topic filters whose matching topics are not shown. */
  filterOut: readonly string[];
  /** -R: skip messages with the retain flag set (stale values the broker kept). */
  noRetained: boolean;
}

/** Why a message is not shown, or undefined when it is. */
export type Skip = 'retained' | 'filtered-out';

export function skipReason(message: Pick<ReceivedMessage, 'topic' | 'retain'>, options: MessageFilterOptions): Skip | undefined {
  if (options.noRetained && message.retain) return 'retained';
  for (const filter of options.filterOut) {
    if (topicMatches(filter, message.topic)) return 'filtered-out';
  }
  return undefined;
}

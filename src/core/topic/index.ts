export {
  MAX_TOPIC_BYTES,
  MAX_TOPIC_LEVELS,
  isValidTopicFilter,
  isValidTopicName,
  parseSubscriptionFilter,
  validateTopicFilter,
  validateTopicName,
  type SubscriptionFilter,
} from './validate.js';
export { topicMatches } from './match.js';
export { TopicTrie, type Subscription, type TopicTrieOptions } from './trie.js';
export { RetainedIndex, type RetainedIndexOptions } from './retained-index.js';
export { BRIDGE_NOTIFICATION_PREFIX, isSysTopic, sysAllowsPublish } from './sys.js';

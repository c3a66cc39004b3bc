const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/**
 * Whether `topic` (a topic name) matches `filter` (a topic filter without any `$share/` prefix).
 * Both are expected to be valid; an invalid filter is matched literally where its wildcards
 * are misplaced ('a+' matches only the topic 'a+'), so the answer is always defined.
 *
 * One pass over both strings, no split and no allocation, for one-off checks (`sub` output
 * filters, `retain-clear`). The broker routes with TopicTrie, which this function is the
 * oracle for in the property tests.
 *
 * Semantics (MQTT 3.1.1 and 5.0 section 4.7):
 * - '+' matches exactly one level, which may be empty: 'a/+' matches 'a/'.
 * - '#' matches any number of levels, including none: 'a/#' matches 'a', 'a/' and 'a/b/c'.
 * - Levels are compared exactly; empty levels count ('a//b' has three levels).
 * - A filter whose first level is a wildcard never matches a topic starting with '$'.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  // [MQTT-4.7.2-1] '#' and '+' at the first level do not match topics beginning with '$'.
  if (tl > 0 && topic.charCodeAt(0) === DOLLAR && fl > 0) {
    const c0 = filter.charCodeAt(0);
    if ((c0 === HASH && fl === 1) || (c0 === PLUS && (fl === 1 || filter.charCodeAt(1) === SLASH))) return false;
  }
  let fi = 0;
  let ti = 0;
  // Each turn of the loop consumes one level of each string; fi and ti start at a level.
  for (;;) {
    const c = fi < fl ? filter.charCodeAt(fi) : -1;
    const endsLevel = fi + 1 === fl || (fi + 1 < fl && filter.charCodeAt(fi + 1) === SLASH);
    if (c === HASH && fi + 1 === fl) {
      return true; // matches this level and all after it
    }
    if (c === PLUS && endsLevel) {
      while (ti < tl && topic.charCodeAt(ti) !== SLASH) ti++;
      fi++;
    } else {
      // Literal level: equal characters up to the separator on both sides.
      while (fi < fl) {
        const fc = filter.charCodeAt(fi);
        if (fc === SLASH) break;
        if (ti >= tl || topic.charCodeAt(ti) !== fc) return false;
        fi++;
        ti++;
      }
      if (ti < tl && topic.charCodeAt(ti) !== SLASH) return false;
    }
    // Both now sit at a separator or at their end.
    if (fi === fl) return ti === tl;
    if (ti === tl) {
      // The topic ran out but the filter has more: only a final '/#' still matches, because
      // '#' includes the parent level ('sport/tennis/player1/#' matches 'sport/tennis/player1').
      return fi + 2 === fl && filter.charCodeAt(fi + 1) === HASH;
    }
    fi++;
    ti++;
  }
}

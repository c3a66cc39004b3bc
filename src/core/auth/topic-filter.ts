/**
 * Filter/filter relations the ACL needs (a topic against a filter is topic/match.ts's topicMatches),
 * walked level by level on the strings (no split, no allocation): overlaps (some topic matches both filters), covers (every topic the inner
 * filter matches, the outer matches). A filter whose first level is a wildcard never matches a $ topic.
 */

/** End index of the level starting at i. */
function levelEnd(s: string, i: number): number {
  const j = s.indexOf('/', i);
  return j < 0 ? s.length : j;
}

function sameLevel(a: string, ai: number, ae: number, b: string, bi: number, be: number): boolean {
  return ae - ai === be - bi && a.startsWith(b.slice(bi, be), ai);
}

function isWild(s: string, i: number, e: number): boolean {
  return e - i === 1 && (s.charCodeAt(i) === 43 /* + */ || s.charCodeAt(i) === 35); /* # */
}

function dollarBlocked(a: string, b: string): boolean {
  const aw = a[0] === '+' || a[0] === '#';
  const bw = b[0] === '+' || b[0] === '#';
  return (aw && b[0] === '$') || (bw && a[0] === '$');
}

/** True when some topic matches both filters. */
export function filtersOverlap(a: string, b: string): boolean {
  if (dollarBlocked(a, b)) return false;
  let ai = 0;
  let bi = 0;
  for (;;) {
    const ae = levelEnd(a, ai);
    const be = levelEnd(b, bi);
    const aHash = ae - ai === 1 && a.charCodeAt(ai) === 35;
    const bHash = be - bi === 1 && b.charCodeAt(bi) === 35;
    if (aHash || bHash) return true;
    const aPlus = ae - ai === 1 && a.charCodeAt(ai) === 43;
    const bPlus = be - bi === 1 && b.charCodeAt(bi) === 43;
    if (!aPlus && !bPlus && !sameLevel(a, ai, ae, b, bi, be)) return false;
    const aDone = ae >= a.length;
    const bDone = be >= b.length;
    if (aDone && bDone) return true;
    if (aDone) return b.length - be === 2 && b.charCodeAt(be + 1) === 35;
    if (bDone) return a.length - ae === 2 && a.charCodeAt(ae + 1) === 35;
    ai = ae + 1;
    bi = be + 1;
  }
}

/** True when every topic that `inner` matches also matches `outer`. */
export function filterCovers(outer: string, inner: string): boolean {
  // outer starting with a wildcard misses $ topics; inner starting with a literal $ level has only those
  if ((outer[0] === '+' || outer[0] === '#') && inner[0] === '$') return false;
  let oi = 0;
  let ii = 0;
  for (;;) {
    const oe = levelEnd(outer, oi);
    const ie = levelEnd(inner, ii);
    if (oe - oi === 1 && outer.charCodeAt(oi) === 35) return true;
    const iHash = ie - ii === 1 && inner.charCodeAt(ii) === 35;
    if (iHash) return false; // inner reaches any depth here, outer does not
    const oPlus = oe - oi === 1 && outer.charCodeAt(oi) === 43;
    if (!oPlus) {
      if (isWild(inner, ii, ie) || !sameLevel(outer, oi, oe, inner, ii, ie)) return false;
    }
    const oDone = oe >= outer.length;
    const iDone = ie >= inner.length;
    if (iDone) return oDone || (outer.length - oe === 2 && outer.charCodeAt(oe + 1) === 35);
    if (oDone) return false;
    oi = oe + 1;
    ii = ie + 1;
  }
}

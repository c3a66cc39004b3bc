/** Whether a soak passed, and each reason it did not, in words. */
export function verdict({ brokerExit, final, levelOff }) {
  const failures = [];
  if (brokerExit !== null) failures.push(`the broker ${brokerExit}`);
  for (const row of final.qos) {
    if (row.qos >= 1 && row.lost > 0) failures.push(`${row.lost} acknowledged QoS ${row.qos} messages lost`);
    if (row.qos === 2 && row.dup > 0) failures.push(`${row.dup} QoS 2 messages duplicated`);
  }
  if (final.misrouted > 0) failures.push(`${final.misrouted} messages reached a client not subscribed to them`);
  if (final.wrongQos > 0) failures.push(`${final.wrongQos} messages arrived at another QoS than published`);
  if (final.wills.missing > 0) failures.push(`${final.wills.missing} wills missing`);
  if (final.wills.unexpected > 0) failures.push(`${final.wills.unexpected} wills published that were not owed`);
  if (final.retained.stale > 0) failures.push(`${final.retained.stale} retained values older than acknowledged`);
  if (final.retained.missing > 0) failures.push(`${final.retained.missing} subscriptions got no retained value`);
  if (final.stats.sessionsLost > 0) failures.push(`${final.stats.sessionsLost} persistent sessions not present on reconnect`);
  if (final.stats.protocolErrors > 0) failures.push(`${final.stats.protocolErrors} malformed packets from the broker (${final.stats.lastError})`);
  if (!final.allOnline) failures.push(`not every client could connect again after the drain (${final.online} of ${final.connections})`);
  if (!levelOff.ok) failures.push('the broker RSS did not level off');
  return { ok: failures.length === 0, failures };
}

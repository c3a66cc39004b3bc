/**
 * Why messages went missing, in a line or two a new user can act on: what the broker said
 * (the failure reason codes the engine counted, by packet) and, where it said nothing, what
 * usually causes such a loss. Plain strings over a BenchResult; report.ts shows them under
 * "why" and in --json `hints`. Numbers are formatted locale-free like the rest of the report.
 */
import { CONNACK_RETURN_CODES_V3, reasonCodeName } from '../codec/constants.js';
import type { BenchResult, ReplyPacket } from './types.js';

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const hex = (code: number): string => `0x${code.toString(16).padStart(2, '0')}`;

/** A failure's name: 3.1.1 CONNACK return codes have their own table; 5.0 names depend on the packet. */
export function failureName(reasonCode: number, packet: ReplyPacket | undefined, version: 4 | 5): string {
  if (version === 4 && packet === 'CONNACK') return CONNACK_RETURN_CODES_V3[reasonCode] ?? `return code ${reasonCode}`;
  return reasonCodeName(reasonCode, packet?.toLowerCase());
}

/** e.g. "PUBACK 0x87 Not authorized", "Quota exceeded (0x97)" when the packet is not known. */
export function failureLabel(reasonCode: number, packet: ReplyPacket | undefined, version: 4 | 5): string {
  const name = failureName(reasonCode, packet, version);
  return packet === undefined ? `${name} (${hex(reasonCode)})` : `${packet} ${hex(reasonCode)} ${name}`;
}

/** 3.1.1 CONNACK return codes as the 5.0 reason codes that mean the same (section 3.2.2.3). */
const V3_CONNACK: Record<number, number> = { 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87 };

/** What usually makes a broker answer with each code, and what to change. */
const CAUSES: Record<number, string> = {
  0x87: "an ACL denies this client the topic: check the broker's ACL file (mosquitto's acl_file, mqt broker --acl-file) for the user the bench connects as (-u)",
  0x97: "the broker's quota: its queue or in-flight limit per client (mosquitto's max_queued_messages, 1,000 by default; mqt broker --max-queued), or a store that cannot write",
  0x95: "the broker's Maximum Packet Size is below a PUBLISH of --size bytes: lower --size",
  0x93: "more messages in flight than the broker's Receive Maximum allows: lower --inflight",
  0x96: "the broker limits each client's message rate: set --rate below it",
  0x89: 'the broker is shedding load: lower --pubs, --inflight or --rate',
  0x88: 'the broker is not available: is it starting, or out of a resource?',
  0x86: 'the broker refused the user name or password: check -u and -P',
  0x85: 'the broker refused the client id: give one with -i',
  0x8e: 'another client took over a session with the same client id: give the bench an id of its own (-i)',
  0x8d: 'the broker missed a keep-alive: the bench or the broker was too busy to answer in time (fewer clients, or --workers)',
  0x9f: 'the broker limits how fast clients connect: lower --concurrency',
  0x8b: 'the broker shut down during the run',
  0x90: 'the broker refuses the topic name: check --topic',
  0x98: 'an administrator closed the connections (e.g. mqt broker kick)',
  0x80: "the broker gave no reason (0x80 Unspecified error): its log says more",
  0x83: "the broker gave no reason it could name (0x83 Implementation specific error): its log says more",
};

/** What usually makes a broker answer `reasonCode` (5.0 numbering), or undefined. */
export function causeOf(reasonCode: number): string | undefined {
  return CAUSES[reasonCode];
}

const ACK_PACKETS: ReadonlySet<ReplyPacket | undefined> = new Set<ReplyPacket | undefined>(['PUBACK', 'PUBREC', 'PUBCOMP']);

/** Publishes the broker refused with a failure code in its PUBACK, PUBREC or PUBCOMP (5.0). */
export function refusedPublishes(r: BenchResult): number {
  return r.errors.reduce((n, e) => n + (ACK_PACKETS.has(e.packet) ? e.count : 0), 0);
}

/**
 * Up to three lines: one per failure code the broker sent (most frequent first, two at most),
 * or, when it said nothing, the usual causes of what went missing; then what was never answered.
 */
export function lossHints(r: BenchResult): string[] {
  const c = r.config;
  const version = c.protocolVersion;
  const hints: string[] = [];
  const errors = [...r.errors].sort((a, b) => b.count - a.count);
  for (const e of errors) {
    if (hints.length === 2) break;
    const code = version === 4 && e.packet === 'CONNACK' ? V3_CONNACK[e.reasonCode] : e.reasonCode;
    const cause = code === undefined ? undefined : CAUSES[code];
    if (cause === undefined) continue;
    const what = ACK_PACKETS.has(e.packet) ? `${count(e.count)} publish${e.count === 1 ? '' : 'es'}` : `${count(e.count)} time${e.count === 1 ? '' : 's'}`;
    hints.push(`the broker answered ${failureLabel(e.reasonCode, e.packet, version)} to ${what}: ${cause}`);
  }
  if (c.scenario === 'conn') return hints;

  const refusedAcks = refusedPublishes(r);
  if (r.lost > 0 && hints.length === 0) {
    if (c.qos === 0) {
      hints.push('QoS 0 messages may be dropped, and brokers drop them first under load (a queue limit, a slow subscriber): -q 1 shows whether it keeps them');
    } else if (r.delivered === 0) {
      hints.push(
        version === 4
          ? 'nothing arrived: usually an ACL that denies the topic (MQTT 3.1.1 cannot say so: the broker acknowledges and drops; with -V 5 its PUBACK says 0x87), or lets the subscribers subscribe but not read'
          : 'nothing arrived and the broker named no failure: usually an ACL that lets the subscribers subscribe but not read the topic (brokers drop such deliveries silently)',
      );
    } else {
      hints.push(
        "acknowledged, then dropped: usually the broker's queue limit per subscriber (mosquitto's max_queued_messages, 1,000 by default; mqt broker --max-queued) or in-flight limit (max_inflight_messages, 20), hit when subscribers read slower than publishers send: raise them, or lower --inflight or set --rate",
      );
      if (version === 4) hints.push('MQTT 3.1.1 acks carry no reason code, so a broker drops silently: -V 5 shows what it says (0x97 Quota exceeded, 0x87 Not authorized)');
    }
  }
  if (c.qos > 0) {
    const unanswered = r.published - r.acknowledged - refusedAcks;
    if (unanswered > 0) {
      hints.push(
        `${count(unanswered)} QoS ${c.qos} publish${unanswered === 1 ? ' was' : 'es were'} never acknowledged: the broker stopped answering (stalled, or holding them past its in-flight limit), or dropped the connection; --timeout waits longer`,
      );
    }
  }
  return hints;
}

/**
 * The header every bench payload starts with; the rest of the payload is filler.
 *
 *   [0..3]   run id (u32 BE): messages of another run (a retained one left by an earlier run,
 *            a bench running beside us) are not ours and are ignored
 *   [4..7]   sequence number (u32 BE) of the message from its publisher, from 0 per phase
 *   [8..9]   publisher index (u16 BE), over all workers
 *   [10]     flags: bit 0 = warm-up (not counted)
 *   [11]     0
 *   [12..19] send time (f64 LE, ms on the shared clock, clock.ts); in fixed-rate mode the time
 *            the schedule meant to send it, so latency includes any lateness of the sender
 *            (coordinated-omission correction)
 */
export const PAYLOAD_HEADER_BYTES = 20;

export const HEADER_RUN = 0;
export const HEADER_SEQ = 4;
export const HEADER_PUBLISHER = 8;
export const HEADER_FLAGS = 10;
export const HEADER_TIME = 12;

export const FLAG_WARMUP = 1;

/** Publisher indexes are a u16 in the header. */
export const MAX_PUBLISHERS = 65_535;

/** The kernel's TCP counters out of /proc/net/netstat and /proc/net/snmp (netstat.ts). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backlogOverflowed, kernelTcpDelta, parseCounterSection, parseKernelTcp, readKernelTcp } from '../../../src/core/bench/netstat.js';

// Both files as a Linux 6.x kernel writes them (copied from the machine these tests were
// written on): per group, a line of names and a line of values, each starting with the group.
const NETSTAT = [
  'TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab BeyondWindow TSEcrRejected PAWSOldAck PAWSTimewait DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPHPHits TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery TCPSACKReneging TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo TCPLossUndo TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures TCPFastRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes TCPLossProbeRecovery TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce TCPDSACKOldSent TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed TCPMemoryPressures TCPMemoryPressuresChrono TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter TCPTimeWaitOverflow TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge TCPChallengeACK TCPSYNChallenge TCPFastOpenActive TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail TCPFastOpenListenOverflow TCPFastOpenCookieReqd TCPFastOpenBlackhole TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd TCPACKSkippedSynRecv TCPACKSkippedPAWS TCPACKSkippedSeq TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge TCPWinProbe TCPKeepAlive TCPMTUPFail TCPMTUPSuccess TCPDelivered TCPDeliveredCE TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop TCPWqueueTooBig TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash TCPDSACKRecvSegs TCPDSACKIgnoredDubious TCPMigrateReqSuccess TCPMigrateReqFailure TCPPLBRehash TCPAORequired TCPAOBad TCPAOKeyNotFound TCPAOGood TCPAODroppedIcmps',
  'TcpExt: 0 0 0 0 795 0 0 0 0 0 40345 117 0 0 0 0 0 2 0 319922 3 4981 72 72 4812300 297640 2895065 0 16 0 0 0 0 11 0 5 0 0 0 0 0 17 0 39 5571 7 0 0 0 14394 4981 0 4635 0 1587 829 0 0 0 0 0 0 0 0 4583 0 0 0 0 0 22 27 0 0 0 0 0 0 0 0 0 908770 57 0 0 0 0 0 0 0 0 0 0 0 3 0 2 6771 6862 6004 36 8759598 0 0 0 0 0 0 182 0 0 0 583 407 0 0 8794971 0 17 0 0 0 0 39 0 4635 0 0 0 0 0 0 0 0 0',
  'IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts InECT0Pkts InCEPkts ReasmOverlaps',
  'IpExt: 0 0 0 0 0 0 20548930022 19896153756 0 0 0 0 0 10780379 0 0 0 0',
  'MPTcpExt: MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK MPCapableFallbackSYNACK MPCapableSYNTXDrop MPCapableSYNTXDisabled MPCapableEndpAttempt MPFallbackTokenInit MPTCPRetrans MPJoinNoTokenFound MPJoinSynRx MPJoinSynBackupRx MPJoinSynAckRx MPJoinSynAckBackupRx MPJoinSynAckHMacFailure MPJoinAckRx MPJoinAckHMacFailure MPJoinRejected MPJoinSynTx MPJoinSynTxCreatSkErr MPJoinSynTxBindErr MPJoinSynTxConnectErr DSSNotMatching DSSCorruptionFallback DSSCorruptionReset InfiniteMapTx InfiniteMapRx DSSNoMatchTCP DataCsumErr OFOQueueTail OFOQueue OFOMerge NoDSSInWindow DuplicateData AddAddr AddAddrTx AddAddrTxDrop EchoAdd EchoAddTx EchoAddTxDrop PortAdd AddAddrDrop MPJoinPortSynRx MPJoinPortSynAckRx MPJoinPortAckRx MismatchPortSynRx MismatchPortAckRx RmAddr RmAddrDrop RmAddrTx RmAddrTxDrop RmSubflow MPPrioTx MPPrioRx MPFailTx MPFailRx MPFastcloseTx MPFastcloseRx MPRstTx MPRstRx SubflowStale SubflowRecover SndWndShared RcvWndShared RcvWndConflictUpdate RcvWndConflict MPCurrEstab Blackhole MPCapableDataFallback MD5SigFallback DssFallback SimultConnectFallback FallbackFailed WinProbe',
  'MPTcpExt: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
].join('\n') + '\n';

const SNMP = [
  'Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits',
  'Ip: 2 64 10777593 0 0 0 0 0 10777593 10733858 0 0 0 0 0 0 0 0 0 10733858',
  'Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps',
  'Icmp: 2 0 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
  'IcmpMsg: InType3',
  'IcmpMsg: 2',
  'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors',
  'Tcp: 1 200 120000 -1 43933 42665 1117 3191 0 10774450 10767608 4701 0 3839 0',
  'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
  'Udp: 3141 0 0 3143 0 0 0 0 0',
  'UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
  'UdpLite: 0 0 0 0 0 0 0 0 0',
].join('\n') + '\n';

describe('parseCounterSection', () => {
  it('pairs each name with its value, in the group asked for only', () => {
    const ext = parseCounterSection(NETSTAT, 'TcpExt');
    expect(ext.get('ListenOverflows')).toBe(72);
    expect(ext.get('ListenDrops')).toBe(72);
    expect(ext.get('TCPSynRetrans')).toBe(36);
    // IpExt's counters are not TcpExt's.
    expect(ext.has('InOctets')).toBe(false);
    expect(parseCounterSection(NETSTAT, 'IpExt').get('InNoECTPkts')).toBe(10_780_379);
  });

  it("tells 'Tcp:' from 'TcpExt:' and reads negative values (MaxConn -1)", () => {
    const tcp = parseCounterSection(SNMP, 'Tcp');
    expect(tcp.get('RetransSegs')).toBe(4701);
    expect(tcp.get('MaxConn')).toBe(-1);
    expect(tcp.has('ListenOverflows')).toBe(false);
  });

  it('is empty for a missing group, a header without values, or no text', () => {
    expect(parseCounterSection(NETSTAT, 'Nope').size).toBe(0);
    expect(parseCounterSection('TcpExt: ListenOverflows ListenDrops\n', 'TcpExt').size).toBe(0);
    expect(parseCounterSection('', 'TcpExt').size).toBe(0);
  });
});

describe('parseKernelTcp', () => {
  it('takes the four counters of a storm from the two files', () => {
    expect(parseKernelTcp(NETSTAT, SNMP)).toEqual({ listenOverflows: 72, listenDrops: 72, synRetrans: 36, retransSegs: 4701 });
  });

  it('reads 0 for what an older kernel or a missing snmp file lacks; undefined without the listen counters', () => {
    expect(parseKernelTcp('TcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\n', undefined)).toEqual({ listenOverflows: 3, listenDrops: 4, synRetrans: 0, retransSegs: 0 });
    expect(parseKernelTcp('TcpExt: SyncookiesSent\nTcpExt: 0\n', SNMP)).toBeUndefined();
    expect(parseKernelTcp('', SNMP)).toBeUndefined();
  });
});

describe('kernelTcpDelta and backlogOverflowed', () => {
  const before = { listenOverflows: 72, listenDrops: 72, synRetrans: 407, retransSegs: 4701 };

  it('is after minus before, never below 0, and undefined without both readings', () => {
    const after = { listenOverflows: 1306, listenDrops: 1306, synRetrans: 463, retransSegs: 4700 };
    expect(kernelTcpDelta(before, after)).toEqual({ listenOverflows: 1234, listenDrops: 1234, synRetrans: 56, retransSegs: 0 });
    expect(kernelTcpDelta(undefined, after)).toBeUndefined();
    expect(kernelTcpDelta(before, undefined)).toBeUndefined();
  });

  it('calls it an overflow when dropped SYNs or SYN retries moved, not for other retransmissions', () => {
    const zero = { listenOverflows: 0, listenDrops: 0, synRetrans: 0, retransSegs: 0 };
    expect(backlogOverflowed(zero)).toBe(false);
    expect(backlogOverflowed({ ...zero, retransSegs: 40 })).toBe(false);
    expect(backlogOverflowed({ ...zero, listenOverflows: 1, listenDrops: 1 })).toBe(true);
    expect(backlogOverflowed({ ...zero, synRetrans: 2 })).toBe(true);
    expect(backlogOverflowed(undefined)).toBe(false);
  });
});

describe('readKernelTcp', () => {
  it.runIf(existsSync('/proc/net/netstat'))('reads counts on Linux', () => {
    const k = readKernelTcp();
    expect(k).toBeDefined();
    for (const v of Object.values(k!)) expect(Number.isInteger(v) && v >= 0).toBe(true);
  });

  it('is undefined where there is no netstat file (off Linux)', () => {
    const empty = mkdtempSync(join(tmpdir(), 'mqt-netstat-'));
    try {
      expect(readKernelTcp(empty)).toBeUndefined();
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

/**
 * The bench engine: raw MQTT clients on our codec that load a broker and measure it. A
 * library (no CLI dependency); `mqt bench` (src/commands/bench.ts) renders what it returns.
 */
export { runBench } from './engine.js';
export { Histogram, HISTOGRAM_HIGHEST_US, type HistogramSnapshot } from './histogram.js';
export { SequenceChecker, type SequenceResult } from './sequence.js';
export { PAYLOAD_HEADER_BYTES } from './payload.js';
export { SCENARIO_PRESETS, QOS0_WINDOW_PER_SUBSCRIBER, MAX_INFLIGHT, validateConfig } from './scenarios.js';
export { setWorkerScript } from './workers.js';
export { buildHtmlReport, type HtmlReportInput, type ReportTarget } from './html-report.js';
export { describeMachine, type MachineInfo } from './html-report-machine.js';
export type { Scenario, BenchTarget, BenchConfig, BenchResult, BenchProgress, LatencySummary, PercentilePoint, SubscriberCheck } from './types.js';

/**
 * Prometheus text exposition format 0.0.4, written directly: `# HELP` and `# TYPE` once per
 * metric, then its samples. No client library: the broker's numbers are already counted
 * (stats.ts), and a scrape only has to print them.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export type Labels = Readonly<Record<string, string>>;

/** A label value as the format wants it: backslash, double quote and newline escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** A number as the format writes it (+Inf, -Inf, NaN spelled out). */
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class Exposition {
  private out = '';

  /** Declares a metric: HELP and TYPE lines; its samples follow. */
  metric(name: string, type: MetricType, help: string): this {
    this.out += `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
    return this;
  }

  sample(name: string, value: number, labels?: Labels): this {
    this.out += `${name}${labelText(labels)} ${num(value)}\n`;
    return this;
  }

  /** A metric with a single sample. */
  single(name: string, type: 'counter' | 'gauge', help: string, value: number): this {
    return this.metric(name, type, help).sample(name, value);
  }

  /**
   * A histogram from per-bucket counts (not cumulative): `counts[i]` observations at most
   * `bounds[i]`, and `counts[bounds.length]` above the last bound. Buckets are written
   * cumulative, ending with +Inf equal to _count, as the format requires.
   */
  histogram(name: string, help: string, bounds: readonly number[], counts: readonly number[], sum: number): this {
    this.metric(name, 'histogram', help);
    let running = 0;
    for (let i = 0; i < bounds.length; i++) {
      running += counts[i] ?? 0;
      this.sample(`${name}_bucket`, running, { le: num(bounds[i]!) });
    }
    running += counts[bounds.length] ?? 0;
    this.sample(`${name}_bucket`, running, { le: '+Inf' });
    this.sample(`${name}_sum`, sum);
    return this.sample(`${name}_count`, running);
  }

  text(): string {
    return this.out;
  }
}

/** The Content-Type of format 0.0.4. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

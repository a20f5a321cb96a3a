/** Default latency buckets (seconds). */
const TIME_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Batch size buckets (rows). */
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i]!++;
    });
  }
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/**
 * The server's metrics, rendered in the Prometheus text exposition format (version 0.0.4) by {@link render}:
 * requests by route and status, request latency, queue time and batch sizes (histograms), adapter loads,
 * load failures and evictions, loaded adapters (gauge).
 */
export class ServeMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  readonly queueTime = new Histogram(TIME_BUCKETS);
  readonly batchRows = new Histogram(SIZE_BUCKETS);
  readonly batchAdapters = new Histogram(SIZE_BUCKETS);
  /** Seconds one batch computed (mixedForward: forward, heads, read-back), blocking the event loop meanwhile. */
  readonly batchTime = new Histogram(TIME_BUCKETS);
  adapterLoads = 0;
  adapterLoadFailures = 0;
  adapterEvictions = 0;
  adaptersLoaded = 0;

  /** Count a finished request of `route` with HTTP `status` that took `seconds`. */
  request(route: string, status: number, seconds: number): void {
    const key = JSON.stringify([route, String(status)]);
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) this.latency.set(route, (h = new Histogram(TIME_BUCKETS)));
    h.observe(seconds);
  }

  /** The Prometheus text of every metric. */
  render(): string {
    const out: string[] = [];
    const counter = (name: string, help: string, value: number): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`);
    };
    const histogram = (name: string, h: Histogram, labels: Record<string, string> = {}): void => {
      h.buckets.forEach((b, i) => out.push(`${name}_bucket${labelText({ ...labels, le: String(b) })} ${h.counts[i]}`));
      out.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${h.count}`);
      out.push(`${name}_sum${labelText(labels)} ${h.sum}`, `${name}_count${labelText(labels)} ${h.count}`);
    };
    out.push('# HELP adapterkit_requests_total HTTP requests by route and status.', '# TYPE adapterkit_requests_total counter');
    for (const [key, n] of this.requests) {
      const [route, status] = JSON.parse(key) as [string, string];
      out.push(`adapterkit_requests_total${labelText({ route, status })} ${n}`);
    }
    out.push('# HELP adapterkit_request_duration_seconds Request latency by route.', '# TYPE adapterkit_request_duration_seconds histogram');
    for (const [route, h] of this.latency) histogram('adapterkit_request_duration_seconds', h, { route });
    out.push('# HELP adapterkit_queue_seconds Time a request waited before its batch ran.', '# TYPE adapterkit_queue_seconds histogram');
    histogram('adapterkit_queue_seconds', this.queueTime);
    out.push('# HELP adapterkit_batch_rows Rows per forward of the base model.', '# TYPE adapterkit_batch_rows histogram');
    histogram('adapterkit_batch_rows', this.batchRows);
    out.push('# HELP adapterkit_batch_adapters Distinct adapter setups per forward of the base model.', '# TYPE adapterkit_batch_adapters histogram');
    histogram('adapterkit_batch_adapters', this.batchAdapters);
    out.push('# HELP adapterkit_batch_compute_seconds Time one batch computed (forward, heads, read-back); the event loop is blocked meanwhile.', '# TYPE adapterkit_batch_compute_seconds histogram');
    histogram('adapterkit_batch_compute_seconds', this.batchTime);
    counter('adapterkit_adapter_loads_total', 'Adapters loaded from disk.', this.adapterLoads);
    counter('adapterkit_adapter_load_failures_total', 'Adapter folders that failed to load.', this.adapterLoadFailures);
    counter('adapterkit_adapter_evictions_total', 'Adapters unloaded to make room (LRU).', this.adapterEvictions);
    out.push('# HELP adapterkit_adapters_loaded Adapters loaded now.', '# TYPE adapterkit_adapters_loaded gauge', `adapterkit_adapters_loaded ${this.adaptersLoaded}`);
    return out.join('\n') + '\n';
  }
}

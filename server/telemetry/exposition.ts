// A small Prometheus registry and its text exposition (format 0.0.4). Hand-written rather than the
// OpenTelemetry SDK's metrics: that SDK hashes an attributes object on every record() call, while
// here a call site keeps the series it updates (one object per label combination, made once), so an
// update is an addition. Label strings are rendered once, when a series is created.

export type LabelValues = readonly string[];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function renderLabels(names: readonly string[], values: LabelValues): string {
  if (names.length === 0) return "";
  return names.map((name, i) => `${name}="${escapeLabel(values[i] ?? "")}"`).join(",");
}

function number(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return Number.isNaN(value) ? "NaN" : String(value);
}

interface Family {
  readonly name: string;
  render(out: string[]): void;
}

/** Series of one metric, found by their label values through nested maps (no key string per lookup). */
class SeriesIndex<S> {
  private readonly root = new Map<string, unknown>();
  readonly all: { labels: string; series: S }[] = [];

  constructor(
    private readonly names: readonly string[],
    private readonly make: () => S,
  ) {}

  get(values: LabelValues): S {
    let level = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    const key = values[last] ?? "";
    let series = level.get(key) as S | undefined;
    if (series === undefined) {
      series = this.make();
      level.set(key, series);
      this.all.push({ labels: renderLabels(this.names, values), series });
    }
    return series;
  }
}

export class CounterSeries {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

/** A counter of exact integers too large for a double (nano-USD). */
export class BigCounterSeries {
  value = 0n;
  inc(by: bigint): void {
    this.value += by;
  }
}

export class GaugeSeries {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  add(by: number): void {
    this.value += by;
  }
}

export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

type SeriesKind = "counter" | "gauge" | "histogram";

class MetricFamily<S> implements Family {
  private readonly index: SeriesIndex<S>;
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly type: SeriesKind,
    labelNames: readonly string[],
    make: () => S,
    private readonly write: (out: string[], name: string, labels: string, series: S) => void,
  ) {
    this.index = new SeriesIndex(labelNames, make);
  }

  /** The series for these label values (in the order of the label names); keep it to update it cheaply. */
  series(...values: string[]): S {
    return this.index.get(values);
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const { labels, series } of this.index.all) this.write(out, this.name, labels, series);
  }
}

const scalar = (out: string[], name: string, labels: string, value: string) => out.push(labels === "" ? `${name} ${value}` : `${name}{${labels}} ${value}`);

/** A family whose series are read at scrape time (circuit states, budgets): no upkeep per call. */
class CollectedFamily implements Family {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly collect: () => Iterable<{ labels: LabelValues; value: number }>,
    private readonly type: "gauge" | "counter",
  ) {}

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const { labels, value } of this.collect()) scalar(out, this.name, renderLabels(this.labelNames, labels), number(value));
  }
}

export class Registry {
  private readonly families: Family[] = [];

  private add<F extends Family>(family: F): F {
    if (this.families.some((f) => f.name === family.name)) throw new Error(`metric ${family.name} registered twice`);
    this.families.push(family);
    return family;
  }

  counter(name: string, help: string, labelNames: readonly string[]): MetricFamily<CounterSeries> {
    return this.add(new MetricFamily(name, help, "counter", labelNames, () => new CounterSeries(), (out, n, l, s) => scalar(out, n, l, number(s.value))));
  }

  bigCounter(name: string, help: string, labelNames: readonly string[]): MetricFamily<BigCounterSeries> {
    return this.add(new MetricFamily(name, help, "counter", labelNames, () => new BigCounterSeries(), (out, n, l, s) => scalar(out, n, l, s.value.toString())));
  }

  gauge(name: string, help: string, labelNames: readonly string[]): MetricFamily<GaugeSeries> {
    return this.add(new MetricFamily(name, help, "gauge", labelNames, () => new GaugeSeries(), (out, n, l, s) => scalar(out, n, l, number(s.value))));
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): MetricFamily<HistogramSeries> {
    return this.add(
      new MetricFamily(name, help, "histogram", labelNames, () => new HistogramSeries(bounds), (out, n, labels, s) => {
        const prefix = labels === "" ? "" : `${labels},`;
        let cumulative = 0;
        for (let i = 0; i < bounds.length; i++) {
          cumulative += s.counts[i]!;
          out.push(`${n}_bucket{${prefix}le="${number(bounds[i]!)}"} ${cumulative}`);
        }
        out.push(`${n}_bucket{${prefix}le="+Inf"} ${s.count}`);
        scalar(out, `${n}_sum`, labels, number(s.sum));
        scalar(out, `${n}_count`, labels, String(s.count));
      }),
    );
  }

  /** A family read from elsewhere at each scrape (a counter when what it reads only grows). */
  collected(name: string, help: string, labelNames: readonly string[], collect: () => Iterable<{ labels: LabelValues; value: number }>, type: "gauge" | "counter" = "gauge"): void {
    this.add(new CollectedFamily(name, help, labelNames, collect, type));
  }

  /** The text exposition of every family. */
  render(): string {
    const out: string[] = [];
    for (const family of this.families) family.render(out);
    out.push("");
    return out.join("\n");
  }
}

using System.Diagnostics.Metrics;
using Prometheus;

namespace Turn.Hosting;

/// <summary>
/// Exposes the daemon's <see cref="System.Diagnostics.Metrics"/> instruments through a
/// prometheus-net registry with Prometheus types: counters as counters (prometheus-net's own
/// adapter reports them as gauges), up-down counters and gauges as gauges, histograms with the
/// buckets the instrument advises. Observable instruments are read when a scrape asks. A
/// measurement finds its series by comparing tag values, so after the first one of each label
/// set nothing is allocated.
/// </summary>
internal sealed class PrometheusBridge : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly IMetricFactory _factory;

    public PrometheusBridge(CollectorRegistry registry, Func<Meter, bool> include)
    {
        _factory = Metrics.WithCustomRegistry(registry);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (include(instrument.Meter))
            {
                listener.EnableMeasurementEvents(instrument, new Series(instrument, _factory));
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.Start();
        registry.AddBeforeCollectCallback(_listener.RecordObservableInstruments);
    }

    public void Dispose() => _listener.Dispose();

    private enum Kind
    {
        /// <summary>Counter: each measurement is an increment.</summary>
        CounterDelta,

        /// <summary>ObservableCounter: each measurement is the running total.</summary>
        CounterTotal,

        /// <summary>UpDownCounter: each measurement is a change, either way.</summary>
        GaugeDelta,

        /// <summary>Observable gauges and up-down counters, Gauge: each measurement is the value.</summary>
        GaugeValue,

        Histogram,
    }

    private sealed class Series(Instrument instrument, IMetricFactory factory)
    {
        /// <summary>Label sets one instrument may show; past this, new ones are not exported.</summary>
        private const int MaxSeries = 1000;

        private readonly Lock _lock = new();
        private readonly Kind _kind = KindOf(instrument);
        private Entry[] _entries = [];
        private Collector? _collector;
        private string[]? _labelNames;

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Entry? entry = Find(tags) ?? Add(tags);
            if (entry is null)
            {
                // Tags that do not fit the label names this instrument was first seen with: a
                // measurement the exporter cannot show must not fail the code that made it.
                return;
            }

            switch (_kind)
            {
                case Kind.CounterDelta:
                    ((Counter.Child)entry.Child).Inc(value);
                    break;
                case Kind.CounterTotal:
                    ((Counter.Child)entry.Child).IncTo(value);
                    break;
                case Kind.GaugeDelta:
                    ((Gauge.Child)entry.Child).Inc(value);
                    break;
                case Kind.GaugeValue:
                    ((Gauge.Child)entry.Child).Set(value);
                    break;
                default:
                    ((Histogram.Child)entry.Child).Observe(value);
                    break;
            }
        }

        private Entry? Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (Entry entry in Volatile.Read(ref _entries))
            {
                if (entry.Matches(tags))
                {
                    return entry;
                }
            }

            return null;
        }

        private Entry? Add(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_lock)
            {
                Entry? existing = Find(tags);
                if (existing is not null)
                {
                    return existing;
                }

                if ((_labelNames is not null && !SameNames(_labelNames, tags)) || _entries.Length >= MaxSeries)
                {
                    return null;
                }

                string[] names = new string[tags.Length];
                string[] values = new string[tags.Length];
                for (int i = 0; i < tags.Length; i++)
                {
                    names[i] = tags[i].Key;
                    values[i] = tags[i].Value?.ToString() ?? "";
                }

                _labelNames ??= names;
                _collector ??= Create(names);
                var entry = new Entry(values, Child(values));
                _entries = [.. _entries, entry];
                return entry;
            }
        }

        private static bool SameNames(string[] names, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (names.Length != tags.Length)
            {
                return false;
            }

            for (int i = 0; i < names.Length; i++)
            {
                if (!string.Equals(names[i], tags[i].Key, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }

        private Collector Create(string[] labelNames)
        {
            string help = instrument.Description ?? instrument.Name;
            return _kind switch
            {
                Kind.CounterDelta or Kind.CounterTotal => factory.CreateCounter(instrument.Name, help, labelNames),
                Kind.GaugeDelta or Kind.GaugeValue => factory.CreateGauge(instrument.Name, help, labelNames),
                _ => factory.CreateHistogram(instrument.Name, help, new HistogramConfiguration
                {
                    LabelNames = labelNames,
                    Buckets = (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries?.ToArray() ?? Histogram.ExponentialBuckets(0.001, 2, 16),
                }),
            };
        }

        private object Child(string[] values) => _collector switch
        {
            Counter counter => counter.WithLabels(values),
            Gauge gauge => gauge.WithLabels(values),
            Histogram histogram => histogram.WithLabels(values),
            _ => throw new InvalidOperationException($"no collector for {instrument.Name}"),
        };

        private static Kind KindOf(Instrument instrument)
        {
            Type type = instrument.GetType().GetGenericTypeDefinition();
            return type == typeof(Counter<>) ? Kind.CounterDelta
                : type == typeof(ObservableCounter<>) ? Kind.CounterTotal
                : type == typeof(UpDownCounter<>) ? Kind.GaugeDelta
                : type == typeof(Histogram<>) ? Kind.Histogram
                : Kind.GaugeValue;
        }
    }

    private sealed class Entry(string[] values, object child)
    {
        public object Child { get; } = child;

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != values.Length)
            {
                return false;
            }

            for (int i = 0; i < tags.Length; i++)
            {
                // Tags are constant strings on every hot path; anything else is compared by its text.
                string? text = tags[i].Value as string ?? tags[i].Value?.ToString() ?? "";
                if (!string.Equals(text, values[i], StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }
    }
}

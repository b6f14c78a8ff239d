namespace Turn.Hosting;

/// <summary>Marks the /metrics endpoint, so that the metrics-only listeners can be told apart by the endpoint matched, not by path text.</summary>
internal sealed class MetricsEndpoint;

using System.Net;

namespace Turn.Configuration;

internal sealed record MetricsOptions
{
    /// <summary>Prometheus text exposition at GET /metrics.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Listeners that serve /metrics alone; empty: /metrics is served on Http:Urls.</summary>
    public IReadOnlyList<string> Urls { get; init; } = [];
}

internal sealed record AdminOptions
{
    /// <summary>Bearer key for POST /admin/reload and /admin/drain; null: the admin API is off.</summary>
    public string? ApiKey { get; init; }
}

internal sealed record DrainOptions
{
    /// <summary>After a drain starts, the daemon exits when the last allocation ends or this passes.</summary>
    public int DeadlineSeconds { get; init; } = 3600;

    /// <summary>On SIGTERM, allocations get this long to end before the daemon stops anyway.</summary>
    public int ShutdownSeconds { get; init; } = 30;

    /// <summary>Sent as ALTERNATE-SERVER (300 Try Alternate) to new Allocates while draining; null: 403.</summary>
    public IPEndPoint? AlternateServer { get; init; }
}

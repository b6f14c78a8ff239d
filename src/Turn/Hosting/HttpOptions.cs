namespace Turn.Hosting;

internal sealed record HttpOptions
{
    /// <summary>Kestrel URLs for signaling, the demo page and the HTTP API; empty: no HTTP at all. https URLs use the Tls certificate.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://0.0.0.0:8080"];
}

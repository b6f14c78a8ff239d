namespace Turn.Configuration;

internal sealed record HttpOptions
{
    /// <summary>Kestrel URLs for signaling, the demo page and the HTTP API; empty: no HTTP at all. https URLs use the Tls certificate.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://0.0.0.0:8080"];

    /// <summary>
    /// Host names requests may name (and browser Origins may have), "*.example.org" for subdomains;
    /// besides these, always localhost, this host's addresses, Ice:PublicHost, the external
    /// addresses and the host names of Http:Urls. Any other Host is refused (DNS rebinding).
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>
    /// Reverse proxies (addresses or prefixes) whose X-Forwarded-For is believed: behind them the
    /// client's address is the forwarded one, for admission and every per-address limit. Empty: no
    /// forwarding header is believed, and a request that carries one never counts as local.
    /// </summary>
    public IReadOnlyList<Turn.Relay.IpPrefix> TrustedProxies { get; init; } = [];
}

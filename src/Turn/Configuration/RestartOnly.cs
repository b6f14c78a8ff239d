namespace Turn.Configuration;

/// <summary>
/// What a reload cannot change while the daemon runs, declared once: each rule says whether a new
/// snapshot changes it and how the running value is kept. A reload's effective snapshot and the
/// warnings it logs both come from this table; every key not named here is taken as read.
/// </summary>
internal static class RestartOnly
{
    private static readonly Rule[] Rules =
    [
        // What sockets are bound to.
        new("Listen", (a, b) => !SameListen(a.Listen, b.Listen), (a, b) => b with { Listen = a.Listen }),

        // A wider relay range taken while running would let the peer filter pass this host's own ports.
        new(
            "Relay:Addresses/MinPort/MaxPort",
            (a, b) => !a.Relay.Addresses.SequenceEqual(b.Relay.Addresses) || a.Relay.MinPort != b.Relay.MinPort || a.Relay.MaxPort != b.Relay.MaxPort,
            (a, b) => b with { Relay = b.Relay with { Addresses = a.Relay.Addresses, MinPort = a.Relay.MinPort, MaxPort = a.Relay.MaxPort } }),
        new(
            "Http:Urls/AllowedHosts/TrustedProxies",
            (a, b) => !a.Http.Urls.SequenceEqual(b.Http.Urls) || !a.Http.AllowedHosts.SequenceEqual(b.Http.AllowedHosts) || !a.Http.TrustedProxies.SequenceEqual(b.Http.TrustedProxies),
            (a, b) => b with { Http = a.Http }),
        new("Metrics", (a, b) => !a.Metrics.Urls.SequenceEqual(b.Metrics.Urls) || a.Metrics.Enabled != b.Metrics.Enabled, (a, b) => b with { Metrics = a.Metrics }),
        new("Signal:Path", (a, b) => a.Signal.Path != b.Signal.Path, (a, b) => b with { Signal = b.Signal with { Path = a.Signal.Path } }),
        new("Signal:Redis", (a, b) => a.Signal.Redis != b.Signal.Redis, (a, b) => b with { Signal = b.Signal with { Redis = a.Signal.Redis } }),

        // A new certificate is taken; turning TLS on or off is a listener coming or going.
        new(
            "Tls:CertificateFile (turning TLS on or off)",
            (a, b) => (a.Tls.CertificateFile is null) != (b.Tls.CertificateFile is null),
            (a, b) => b with { Tls = a.Tls }),

        // Allocations keep the realm their key was made under; their refreshes must still match it.
        new(
            "Auth:Realm/NonceLifetimeSeconds",
            (a, b) => a.Auth.Realm != b.Auth.Realm || a.Auth.NonceLifetimeSeconds != b.Auth.NonceLifetimeSeconds,
            (a, b) => b with { Auth = b.Auth with { Realm = a.Auth.Realm, NonceLifetimeSeconds = a.Auth.NonceLifetimeSeconds } }),

        // Into or out of the local default: the HTTP side's reach goes with it (after the rule above).
        new(
            "Auth:Secrets/Users (into or out of the local default)",
            (a, b) => a.Auth.SecretGenerated != b.Auth.SecretGenerated,
            (a, b) => b with { Auth = a.Auth }),
        new(
            "Software/Tcp/Rfc5780",
            (a, b) => a.Software != b.Software || a.Tcp != b.Tcp || a.Rfc5780 != b.Rfc5780,
            (a, b) => b with { Software = a.Software, Tcp = a.Tcp, Rfc5780 = a.Rfc5780 }),
    ];

    /// <summary>The restart-only keys <paramref name="next"/> would change, for the reload's warnings.</summary>
    public static IEnumerable<string> Changes(TurnOptions running, TurnOptions next)
        => Rules.Where(rule => rule.Changed(running, next)).Select(rule => rule.Keys);

    /// <summary><paramref name="next"/> with every restart-only key as it runs.</summary>
    public static TurnOptions Keep(TurnOptions running, TurnOptions next)
    {
        TurnOptions effective = next;
        foreach (Rule rule in Rules)
        {
            if (rule.Changed(running, effective))
            {
                effective = rule.Keep(running, effective);
            }
        }

        return effective;
    }

    private static bool SameListen(ListenOptions a, ListenOptions b)
        => a.Addresses.SequenceEqual(b.Addresses) && a.UdpPort == b.UdpPort && a.TcpPort == b.TcpPort && a.TlsPort == b.TlsPort
            && a.Transports.SequenceEqual(b.Transports) && a.UdpThreads == b.UdpThreads && a.DataPlane == b.DataPlane;

    /// <summary>Keys names them in the reload's warning; Keep puts the running values back.</summary>
    private sealed record Rule(string Keys, Func<TurnOptions, TurnOptions, bool> Changed, Func<TurnOptions, TurnOptions, TurnOptions> Keep);
}

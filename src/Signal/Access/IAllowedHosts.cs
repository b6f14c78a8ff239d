namespace Turn.Signal.Access;

/// <summary>
/// The names this server answers to. A request whose Host names anything else is refused, and a
/// browser Origin is same-site only when its host is one of these: judged against configuration,
/// never against the request's own Host header, which a DNS-rebinding page controls.
/// </summary>
public interface IAllowedHosts
{
    /// <summary>Whether <paramref name="host"/> (a name, an IPv4 address, or an IPv6 address in brackets; no port) is one of this server's.</summary>
    bool IsAllowed(string host);
}

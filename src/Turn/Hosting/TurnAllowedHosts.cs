using System.Net;
using Turn.Relay;
using Turn.Signal.Access;
using Turn.Wire;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>
/// The names this daemon answers to on HTTP: Http:AllowedHosts (exact names, "*.domain", or "*"),
/// localhost, Ice:PublicHost, the host names of Http:Urls and Metrics:Urls, the external addresses, loopback, and
/// every address of this host, kept current. Anything else in a Host header is a name someone
/// else pointed at this server (DNS rebinding) and is refused.
/// </summary>
internal sealed class TurnAllowedHosts : IAllowedHosts
{
    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase) { "localhost" };
    private readonly List<string> _suffixes = [];
    private readonly List<IPAddress> _addresses = [];
    private readonly HostAddresses _host;
    private readonly bool _any;

    public TurnAllowedHosts(TurnOptions options, HostAddresses host)
    {
        _host = host;
        foreach (string allowed in options.Http.AllowedHosts)
        {
            if (allowed == "*")
            {
                _any = true;
            }
            else if (allowed.StartsWith("*.", StringComparison.Ordinal))
            {
                _suffixes.Add(allowed[1..]);
            }
            else
            {
                Add(allowed);
            }
        }

        if (options.Ice.PublicHost is { } publicHost)
        {
            Add(publicHost);
        }

        foreach (string url in options.Http.Urls.Concat(options.Metrics.Urls))
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
            {
                Add(uri.Host);
            }
        }

        _addresses.AddRange(options.Relay.ExternalAddresses.Select(p => p.External));
    }

    /// <summary>What the names are, for the start-up log.</summary>
    public string Describe()
        => _any ? "any host (Http:AllowedHosts has \"*\")" : string.Join(", ", _names.Concat(_suffixes.Select(s => "*" + s)).Concat(_addresses.Select(a => a.ToString()))) + ", loopback and this host's addresses";

    public bool IsAllowed(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (_any || _names.Contains(host))
        {
            return true;
        }

        foreach (string suffix in _suffixes)
        {
            if (host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && host.Length > suffix.Length)
            {
                return true;
            }
        }

        string literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (!IPAddress.TryParse(literal, out IPAddress? address) || literal.Contains('%', StringComparison.Ordinal))
        {
            return false;
        }

        return IPAddress.IsLoopback(address)
            || _addresses.Contains(address)
            || _host.Contains(StunAddress.FromIPEndPoint(new IPEndPoint(address, 0)));
    }

    private void Add(string host)
    {
        // A wildcard listen address names no host; an IP literal is judged as an address.
        string literal = host.Trim('[', ']');
        if (IPAddress.TryParse(literal, out IPAddress? address))
        {
            if (!address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any))
            {
                _addresses.Add(address);
            }
        }
        else if (host is not ("*" or "+"))
        {
            _names.Add(host);
        }
    }
}

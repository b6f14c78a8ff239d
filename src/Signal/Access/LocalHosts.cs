using System.Net;

namespace Turn.Signal.Access;

/// <summary>The default when the host application names none: localhost and loopback addresses only.</summary>
internal sealed class LocalHosts : IAllowedHosts
{
    public bool IsAllowed(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        string literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(literal, out IPAddress? address) && IPAddress.IsLoopback(address);
    }
}

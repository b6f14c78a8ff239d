using System.Globalization;
using Turn.Relay;
using Turn.Server;

namespace Turn.Cli;

/// <summary>
/// A STUN URI as RFC 7064 writes it, <c>stun:host[:port]</c> or <c>stuns:host[:port]</c>, with an
/// optional <c>?transport=udp|tcp</c> as for TURN URIs (RFC 7065).
/// </summary>
internal sealed record ProbeTarget(string Host, int Port, TransportProtocol Transport)
{
    public static bool TryParse(string uri, out ProbeTarget? target, out string error)
    {
        target = null;
        error = "";
        bool secure;
        string rest;
        if (uri.StartsWith("stuns:", StringComparison.OrdinalIgnoreCase))
        {
            secure = true;
            rest = uri[6..];
        }
        else if (uri.StartsWith("stun:", StringComparison.OrdinalIgnoreCase))
        {
            secure = false;
            rest = uri[5..];
        }
        else
        {
            error = $"\"{uri}\" is not a stun: or stuns: URI";
            return false;
        }

        var transport = secure ? TransportProtocol.Tls : TransportProtocol.Udp;
        int query = rest.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            string parameter = rest[(query + 1)..];
            rest = rest[..query];
            if (parameter.Equals("transport=tcp", StringComparison.OrdinalIgnoreCase))
            {
                transport = secure ? TransportProtocol.Tls : TransportProtocol.Tcp;
            }
            else if (!parameter.Equals("transport=udp", StringComparison.OrdinalIgnoreCase) || secure)
            {
                error = $"\"?{parameter}\" is not supported: use ?transport=udp or ?transport=tcp (stuns: is always TLS over TCP)";
                return false;
            }
        }

        string host = rest;
        int port = secure ? 5349 : 3478;
        int colon = rest.LastIndexOf(':');
        if (rest.StartsWith('['))
        {
            int close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"\"{uri}\" has an unclosed IPv6 literal";
                return false;
            }

            host = rest[1..close];
            colon = rest.Length > close + 1 && rest[close + 1] == ':' ? close + 1 : -1;
            if (rest.Length > close + 1 && colon < 0)
            {
                error = $"\"{uri}\" has text after the IPv6 literal";
                return false;
            }
        }
        else if (colon >= 0)
        {
            host = rest[..colon];
        }

        if (colon >= 0 && (!int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < 1 || port > 65535))
        {
            error = $"\"{rest[(colon + 1)..]}\" is not a port";
            return false;
        }

        if (host.Length == 0)
        {
            error = $"\"{uri}\" names no host";
            return false;
        }

        target = new ProbeTarget(host, port, transport);
        return true;
    }
}

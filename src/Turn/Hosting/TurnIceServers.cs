using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Turn.Auth;
using Turn.Signal;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>
/// The iceServers a browser gets from signaling and /api/ice-servers: this daemon's stun:, turn:
/// (UDP and TCP) and turns: URIs, with TURN REST credentials minted from the first secret the
/// TURN server itself checks, valid for Ice:CredentialTtlSeconds; from the configuration in
/// force, so a reload's secrets and URIs are handed out from then on.
/// </summary>
internal sealed class TurnIceServers : IIceServerProvider
{
    private readonly TimeProvider _time;
    private volatile Snapshot _current;

    public TurnIceServers(TurnSnapshot snapshot, TimeProvider time)
    {
        _time = time;
        _current = new Snapshot(snapshot.Current);
        snapshot.OnReload(next => _current = new Snapshot(next));
    }

    public IReadOnlyList<IceServer> GetIceServers(string peerId)
    {
        Snapshot current = _current;

        TurnOptions options = current.Options;
        var servers = new List<IceServer> { new(current.StunUrls, null, null) };
        if (options.Auth.Secrets.Count > 0 && current.TurnUrls.Length > 0)
        {
            long expiry = _time.GetUtcNow().ToUnixTimeSeconds() + options.Ice.CredentialTtlSeconds;
            string username = RestCredentials.Username(expiry, peerId);
            servers.Add(new IceServer(current.TurnUrls, username, RestCredentials.Password(options.Auth.Secrets[0], username)));
        }

        return servers;
    }

    private sealed class Snapshot(TurnOptions options)
    {
        public TurnOptions Options { get; } = options;

        public string[] StunUrls { get; } = BuildUrls(options, turn: false);

        public string[] TurnUrls { get; } = BuildUrls(options, turn: true);
    }

    private static string[] BuildUrls(TurnOptions options, bool turn)
    {
        if (options.Ice.Urls.Count > 0)
        {
            return [.. options.Ice.Urls.Where(u => u.StartsWith(turn ? "turn" : "stun", StringComparison.OrdinalIgnoreCase))];
        }

        string host = Host(options);
        ListenOptions listen = options.Listen;
        string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
        var urls = new List<string>();
        if (!turn)
        {
            urls.Add($"stun:{host}:{Port(listen.UdpPort)}");
            return [.. urls];
        }

        if (listen.Transports.Contains("udp"))
        {
            urls.Add($"turn:{host}:{Port(listen.UdpPort)}?transport=udp");
        }

        if (listen.Transports.Contains("tcp"))
        {
            urls.Add($"turn:{host}:{Port(listen.TcpPort)}?transport=tcp");
        }

        if (listen.Transports.Contains("tls") && options.Tls.CertificateFile is not null)
        {
            urls.Add($"turns:{host}:{Port(listen.TlsPort)}?transport=tcp");
        }

        return [.. urls];
    }

    private static string Host(TurnOptions options)
    {
        if (options.Ice.PublicHost is { } configured)
        {
            return configured;
        }

        IPAddress? address = options.Relay.ExternalAddresses.Count > 0
            ? options.Relay.ExternalAddresses[0].External
            : TurnOptionsReader.PrimaryFor(options.Listen, AddressFamily.InterNetwork) ?? RelayComposition.RelayAddress(options, AddressFamily.InterNetwork);
        if (address is null)
        {
            return "localhost";
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
    }
}

using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Turn.Relay;
using Turn.Signal;
using Turn.Wire;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>
/// Kestrel's endpoints from Http:Urls and Metrics:Urls, each with what runs on its connections
/// before HTTP: TLS for https (offering stun.turn on the port TURN over TLS shares), the shared
/// port's router, and on Http:Urls the signaling upgrade taken at the connection.
/// </summary>
internal static class HttpListeners
{
    public static void Listen(KestrelServerOptions kestrel, TurnOptions options, bool signal, bool metricsPort)
    {
        int? sharedPort = SharedTlsPort.Port(options);
        Func<IPAddress, bool>? trusted = TrustedProxy(options);
        IEnumerable<(string Url, bool Http)> urls = options.Http.Urls.Select(u => (u, true));
        if (metricsPort)
        {
            urls = urls.Concat(options.Metrics.Urls.Select(u => (u, false)));
        }

        foreach ((string url, bool http) in urls)
        {
            var uri = new Uri(url);
            bool https = uri.Scheme == "https";
            bool shared = https && uri.Port == sharedPort;
            void Configure(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen)
            {
                if (https)
                {
                    listen.UseHttps(tls =>
                    {
                        if (shared)
                        {
                            tls.OnAuthenticate = (_, ssl) => SharedTlsPort.OfferStunTurn(ssl);
                        }
                    });
                }

                if (shared)
                {
                    listen.Use(next => connection => SharedTlsPort.Route(connection, next, kestrel.ApplicationServices));
                }

                if (signal && http)
                {
                    listen.UseSignalUpgrade(trusted);
                }
            }

            string host = uri.Host.Trim('[', ']');
            if (IPAddress.TryParse(host, out IPAddress? address))
            {
                kestrel.Listen(address, uri.Port, Configure);
            }
            else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                kestrel.ListenLocalhost(uri.Port, Configure);
            }
            else
            {
                kestrel.ListenAnyIP(uri.Port, Configure);
            }
        }
    }

    /// <summary>Whether an address is one of Http:TrustedProxies; null when none is listed.</summary>
    public static Func<IPAddress, bool>? TrustedProxy(TurnOptions options)
    {
        IReadOnlyList<IpPrefix> proxies = options.Http.TrustedProxies;
        return proxies.Count == 0 ? null : address => proxies.Any(p => p.Contains(StunAddress.FromIPEndPoint(new IPEndPoint(address, 0))));
    }

    /// <summary>The endpoints of Http:Urls' plain http entries (those signaling serves outside Kestrel's connections).</summary>
    public static Func<EndPoint, bool> PlainHttp(TurnOptions options)
    {
        HashSet<int> ports = [.. options.Http.Urls.Select(u => new Uri(u)).Where(u => u.Scheme == "http").Select(u => u.Port)];
        ports.ExceptWith(options.Metrics.Urls.Select(u => new Uri(u).Port));
        return endpoint => endpoint is IPEndPoint ip && ports.Contains(ip.Port);
    }
}

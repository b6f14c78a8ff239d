using System.Net.Sockets;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;
using Turn.Transport;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>Opens every STUN listener at start (a port that cannot be bound stops start-up) and closes them at stop.</summary>
internal sealed class StunServerService(TurnOptions options, StunRequestHandler handler, PacketPath path, IDataPlane plane, RelayClock clock, UdpRelayPorts ports, ILogger<StunServerService> logger) : IHostedService, IDisposable
{
    private readonly List<StreamListener> _streams = [];
    private ConnectionSeats? _seats;

    public IReadOnlyList<IUdpEndpoint> UdpListeners => plane.Listeners;

    /// <summary>The data plane that reads the UDP sockets.</summary>
    public IDataPlane DataPlane => plane;

    public IReadOnlyList<StreamListener> StreamListeners => _streams;

    /// <summary>The TLS certificate in use, swapped on reload; null without TLS.</summary>
    public CertificateHolder? Certificate { get; private set; }

    /// <summary>TURN over TLS arriving on the port it shares with HTTPS (<see cref="SharedTlsPort"/>); null when it does not share one.</summary>
    public SharedTlsSessions? SharedTls { get; private set; }

    /// <summary>True once every listener is bound and its loop runs.</summary>
    public bool Started { get; private set; }

    /// <summary>Why a receive loop is not well (see <see cref="IDataPlane.Stall"/>), or null.</summary>
    public string? Stall(TimeSpan limit)
    {
        if (plane.Stall(limit) is { } stalled)
        {
            return stalled;
        }

        foreach (StreamListener listener in _streams)
        {
            if (listener.AcceptEnded)
            {
                return $"{listener.Endpoint.Protocol.ToString().ToLowerInvariant()} {listener.LocalEndPoint} accept loop has ended";
            }
        }

        return null;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        HostingLog.Starting(logger, TurnVersion.Current);
        CertificateHolder? certificate = null;
        if (options.Tls.CertificateFile is not null)
        {
            certificate = new CertificateHolder(CertificateHolder.Load(options.Tls.CertificateFile, options.Tls.PrivateKeyFile));
            Certificate = certificate;
        }
        else if (options.Listen.Transports.Contains("tls") && !IsDefaultTransports(options.Listen.Transports))
        {
            HostingLog.TlsWithoutCertificate(logger);
        }

        LogPolicy();
        var limits = new StreamLimits(
            options.Tcp.MaxConnections,
            TimeSpan.FromSeconds(options.Tcp.IdleTimeoutSeconds),
            TimeSpan.FromSeconds(options.Tcp.HandshakeTimeoutSeconds))
        {
            MaxConnectionsPerAddress = options.Tcp.MaxConnectionsPerAddress,
            FirstMessageTimeout = TimeSpan.FromSeconds(options.Tcp.FirstMessageSeconds),
        };
        int? sharedPort = certificate is null ? null : SharedTlsPort.Port(options);
        try
        {
            foreach (ListenEndpoint endpoint in ListenPlan.Endpoints(options, certificate is not null))
            {
                // The HTTPS listener on that port takes TURN over TLS in.
                if (endpoint.Protocol != TransportProtocol.Tls || endpoint.EndPoint.Port != sharedPort)
                {
                    Open(endpoint, limits, certificate);
                }
            }
        }
        catch
        {
            Close();
            throw;
        }

        // Each allocation holds one relay socket (two when dual); grow the descriptor table for them before traffic starts.
        DescriptorTable.Grow(Math.Min(options.Relay.Limits.MaxAllocations, 100_000) + 512);

        if (sharedPort is { } port)
        {
            SharedTls = new SharedTlsSessions(limits, _seats ??= new ConnectionSeats(limits.MaxConnectionsPerAddress), clock, path, logger);
            HostingLog.SharedTlsPort(logger, port);
        }

        plane.Start(path);
        HostingLog.DataPlane(logger, plane.Name, plane.Threads);
        foreach (StreamListener listener in _streams)
        {
            listener.Start(path, logger, plane);
        }

        Started = true;
        return Task.CompletedTask;
    }

    /// <summary>Says at start what an operator must know: the local default, relay addresses, peer policy warnings, RFC 5780.</summary>
    private void LogPolicy()
    {
        if (options.Auth.SecretGenerated)
        {
            HostingLog.LocalDefault(logger, LocalDefault.Describe(options));
        }

        foreach (System.Net.Sockets.AddressFamily family in new[] { System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.AddressFamily.InterNetworkV6 })
        {
            if (RelayComposition.RelayAddress(options, family) is { } relayAddress)
            {
                HostingLog.RelayAddress(logger, relayAddress.ToString(), options.Relay.MinPort, options.Relay.MaxPort);
            }
        }

        if (options.Relay.UnsafeAllowLoopbackPeers)
        {
            HostingLog.LoopbackPeersAllowed(logger);
        }

        foreach (string warning in options.Relay.ReachableHostRanges())
        {
            HostingLog.PeerPolicyWarning(logger, warning);
        }

        if (options.Rfc5780.AlternateAddress is not null && ListenPlan.NatBehavior(options) is { } nat)
        {
            HostingLog.NatBehaviorOn(logger, nat[0].ToString(), nat[3].ToString());
        }
    }

    private void Open(ListenEndpoint endpoint, StreamLimits limits, CertificateHolder? certificate)
    {
        try
        {
            if (endpoint.Protocol == TransportProtocol.Udp)
            {
                plane.BindUdp(endpoint);
            }
            else
            {
                _streams.Add(StreamListener.Bind(endpoint, limits, endpoint.Protocol == TransportProtocol.Tls ? certificate : null, clock, _seats ??= new ConnectionSeats(limits.MaxConnectionsPerAddress)));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressFamilyNotSupported && endpoint.EndPoint.Address.Equals(IPAddress.IPv6Any))
        {
            HostingLog.Ipv6Unavailable(logger, endpoint.EndPoint.ToString());
        }
        catch (SocketException e)
        {
            string protocol = endpoint.Protocol.ToString().ToLowerInvariant();
            HostingLog.BindFailed(logger, protocol, endpoint.EndPoint.ToString(), e.Message);
            throw new InvalidOperationException($"Cannot listen on {protocol} {endpoint.EndPoint}: {e.Message}", e);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Started = false;
        SharedTls?.Stop();

        // Allocations end first, while the data plane that holds their relay sockets still runs.
        foreach (Allocation allocation in handler.Relay?.Allocations.All ?? [])
        {
            handler.Relay!.Allocations.Remove(allocation, AllocationEnd.Shutdown, clock.NowMs);
        }

        Close();
        foreach (StreamListener listener in _streams)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        _streams.Clear();

        ports.Dispose();
        HostingLog.Stopped(logger);
    }

    private void Close() => plane.Dispose();

    public void Dispose()
    {
        Close();
        SharedTls?.Dispose();
    }

    private static bool IsDefaultTransports(IReadOnlyList<string> transports)
        => ReferenceEquals(transports, new ListenOptions().Transports) || transports.SequenceEqual(new ListenOptions().Transports);
}

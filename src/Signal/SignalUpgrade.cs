using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Turn.Signal.Access;

namespace Turn.Signal;

/// <summary>
/// Signaling WebSockets taken at the connection, before the HTTP server's request layer: a plain
/// upgrade request for the signaling path (<see cref="UpgradeRequest"/>) that the endpoint would
/// accept is answered here with 101, and the WebSocket runs on the connection's own pipes. An
/// upgraded connection then holds no HTTP request state (connection, request, headers, context,
/// timeouts and the middleware's frames: about 9 KB each), which is most of what a held
/// connection costs. The checks are the endpoint's: Host, Origin, the client's address behind a
/// trusted proxy, the server's and the address's connection limits. Everything else, and every
/// request any check would refuse, goes on untouched to the HTTP server, which answers it as the
/// endpoint always has (so refusals are logged and answered in one place).
/// </summary>
internal sealed class SignalUpgrade
{
    private static readonly byte[] SwitchingProtocols = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: "u8.ToArray();

    private readonly SignalHub _hub;
    private readonly IAllowedHosts _hosts;
    private readonly Func<IPAddress, bool>? _trustedProxy;
    private readonly TimeSpan _headTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    /// <param name="trustedProxy">Whether an address is a reverse proxy whose X-Forwarded-For is the client's address (null: none is).</param>
    /// <param name="headTimeout">How long a request head may take before it is left to the HTTP server and its own limits.</param>
    public SignalUpgrade(IServiceProvider services, Func<IPAddress, bool>? trustedProxy, TimeSpan headTimeout)
    {
        ArgumentNullException.ThrowIfNull(services);
        _hub = services.GetRequiredService<SignalHub>();
        _hosts = services.GetService<IAllowedHosts>() ?? new LocalHosts();
        _trustedProxy = trustedProxy;
        _headTimeout = headTimeout;
        _time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        _logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Turn.Signal");
        _stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
    }

    /// <summary>Connection middleware: takes what it may, hands everything else to <paramref name="next"/>.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(next);
        UpgradeRequest? request = await ReadHead(connection.Transport.Input, _hub.Options.Path, connection.ConnectionClosed).ConfigureAwait(false);
        IPAddress? remote = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        if (request is null || !TryAdmit(request, ref remote, out bool local, out UInt128 source, out QueueShare? share))
        {
            // The endpoint answers it, with the same checks and limits.
            await next(connection).ConfigureAwait(false);
            return;
        }

        try
        {
            // The request is not kept: this frame lives as long as the connection.
            int headLength = request.HeadLength;
            string accept = request.Accept();
            request = null;
            if (!await Accept(connection.Transport, headLength, accept).ConfigureAwait(false))
            {
                return;
            }

            using WebSocket socket = WebSocket.CreateFromStream(new DuplexPipeStream(connection.Transport), SocketOptions());
            await Serve(socket, remote, local, share).ConfigureAwait(false);
        }
        finally
        {
            _hub.Release(source);
        }
    }

    /// <summary>
    /// Admits an upgrade request as the endpoint would: the client's address (behind a trusted
    /// proxy, the one it forwards), the Host, the Origin, a connection of the server's and of the
    /// address's. False when any check says no (nothing is taken then); otherwise <see cref="SignalHub.Release"/>
    /// gives back <paramref name="source"/>'s connection when it ends.
    /// </summary>
    internal bool TryAdmit(UpgradeRequest request, ref IPAddress? remote, out bool local, out UInt128 source, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out QueueShare? share)
    {
        source = default;
        share = null;
        if (!ClientAddress(request, ref remote, out local) || !Allowed(request))
        {
            return false;
        }

        source = SourceAddress.KeyOf(remote);
        return _hub.TryAdmit(source, out share, out _, out _);
    }

    /// <summary>The signaling path in force.</summary>
    internal string Path => _hub.Options.Path;

    /// <summary>How long a request head may take.</summary>
    internal TimeSpan HeadTimeout => _headTimeout;

    /// <summary>Gives back what <see cref="TryAdmit"/> took.</summary>
    internal void Release(UInt128 source) => _hub.Release(source);

    /// <summary>The server side of a WebSocket with the keep-alive in force.</summary>
    internal WebSocketCreationOptions SocketOptions()
    {
        SignalOptions options = _hub.Options;
        return new WebSocketCreationOptions
        {
            IsServer = true,
            KeepAliveInterval = TimeSpan.FromSeconds(options.PingIntervalSeconds),
            KeepAliveTimeout = TimeSpan.FromSeconds(options.PingIntervalSeconds * 3),
        };
    }

    /// <summary>Runs an admitted signaling WebSocket until either side closes it.</summary>
    internal Task Serve(WebSocket socket, IPAddress? remote, bool local, QueueShare share)
        => SignalEndpoints.Serve(socket, _hub, _time, _logger, remote, local, share, _stopping);

    /// <summary>The 101 answer for a Sec-WebSocket-Accept value, written into <paramref name="destination"/>; its length.</summary>
    internal static int WriteResponse(string accept, Span<byte> destination)
    {
        SwitchingProtocols.CopyTo(destination);
        int length = SwitchingProtocols.Length + Encoding.ASCII.GetBytes(accept, destination[SwitchingProtocols.Length..]);
        "\r\n\r\n"u8.CopyTo(destination[length..]);
        return length + 4;
    }

    /// <summary>Room enough for <see cref="WriteResponse"/>.</summary>
    internal static int ResponseLength(string accept) => SwitchingProtocols.Length + accept.Length + 4;

    /// <summary>
    /// Peeks at the connection's first bytes without consuming any: the upgrade request when they
    /// are one for <paramref name="path"/>, as soon as they are known not to be (most requests:
    /// after four bytes), or when the head takes too long, null.
    /// </summary>
    private async Task<UpgradeRequest?> ReadHead(PipeReader input, string path, CancellationToken closed)
    {
        // Most connections bring their head in the first read: no deadline is armed for them.
        if (input.TryRead(out ReadResult first) && Decide(input, first, path, out UpgradeRequest? early))
        {
            return early;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(closed);
        deadline.CancelAfter(_headTimeout);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            if (Decide(input, result, path, out UpgradeRequest? request))
            {
                return request;
            }
        }
    }

    /// <summary>Whether what has come decides it; nothing is consumed, and when undecided the next read waits for more.</summary>
    private static bool Decide(PipeReader input, ReadResult result, string path, out UpgradeRequest? request)
    {
        UpgradeVerdict verdict = UpgradeRequest.Parse(result.Buffer, path, out request);
        if (verdict == UpgradeVerdict.NeedMore && !result.IsCompleted && !result.IsCanceled)
        {
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            return false;
        }

        input.AdvanceTo(result.Buffer.Start);
        if (verdict != UpgradeVerdict.Upgrade)
        {
            request = null;
        }

        return true;
    }

    /// <summary>
    /// The client's address and whether it is on this host, as the endpoint sees them: behind a
    /// trusted proxy the last X-Forwarded-For entry (one hop, as the HTTP server is set up); a
    /// forwarding header left over means the client is another host. False for a header the HTTP
    /// server would have to judge (an entry that is no address).
    /// </summary>
    private bool ClientAddress(UpgradeRequest request, ref IPAddress? remote, out bool local)
    {
        local = false;
        bool forwardingLeft = request.OtherForwarding;
        if (request.ForwardedFor is { } forwardedFor)
        {
            if (remote is not null && _trustedProxy is not null && (_trustedProxy(remote) || (remote.IsIPv4MappedToIPv6 && _trustedProxy(remote.MapToIPv4()))))
            {
                int comma = forwardedFor.LastIndexOf(',');
                if (!IPEndPoint.TryParse(forwardedFor.AsSpan(comma + 1).Trim(), out IPEndPoint? client))
                {
                    return false;
                }

                remote = client.Address;
                forwardingLeft |= comma >= 0;
            }
            else
            {
                forwardingLeft = true;
            }
        }

        local = !forwardingLeft && SourceAddress.IsLoopback(remote);
        return true;
    }

    /// <summary>The Host is one of this server's and the Origin one the endpoint lets in.</summary>
    private bool Allowed(UpgradeRequest request)
    {
        string host = new HostString(request.Host).Host;
        return host.Length > 0 && _hosts.IsAllowed(host) && SignalEndpoints.IsOriginAllowed(request.Origin ?? "", request.Host, _hub.Options, _hosts);
    }

    /// <summary>Consumes the request head and answers 101; false when the connection went meanwhile.</summary>
    private static async Task<bool> Accept(IDuplexPipe transport, int headLength, string accept)
    {
        if (!transport.Input.TryRead(out ReadResult buffered) || buffered.Buffer.Length < headLength)
        {
            return false;
        }

        // What follows the head (a client may send its first frame at once) stays for the WebSocket.
        transport.Input.AdvanceTo(buffered.Buffer.GetPosition(headLength));
        Memory<byte> response = transport.Output.GetMemory(ResponseLength(accept));
        transport.Output.Advance(WriteResponse(accept, response.Span));
        FlushResult flushed = await transport.Output.FlushAsync().ConfigureAwait(false);
        return !flushed.IsCompleted && !flushed.IsCanceled;
    }
}

using System.Buffers;
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

        await AnswerAndServe(new DuplexPipeStream(connection.Transport), request, remote, local, source, share).ConfigureAwait(false);
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

    /// <summary>
    /// Answers an admitted upgrade on the connection's <paramref name="stream"/> (its head read,
    /// 101 written: what follows the head stays for the WebSocket), runs the WebSocket until
    /// either side closes it, closes the stream and gives back what <see cref="TryAdmit"/> took.
    /// </summary>
    internal async Task AnswerAndServe(Stream stream, UpgradeRequest request, IPAddress? remote, bool local, UInt128 source, QueueShare share)
    {
        try
        {
            await using (stream.ConfigureAwait(false))
            {
                if (await Answer(stream, request.HeadLength, request.Accept(), _headTimeout).ConfigureAwait(false))
                {
                    SignalOptions options = _hub.Options;
                    using WebSocket socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
                    {
                        IsServer = true,
                        KeepAliveInterval = options.KeepAliveInterval,
                        KeepAliveTimeout = options.KeepAliveTimeout,
                    });
                    await SignalEndpoints.Serve(socket, _hub, _time, _logger, remote, local, share, _stopping).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _hub.Release(source);
        }
    }

    /// <summary>Reads the request head and writes the 101 answer, within the head's time; false when the client went meanwhile.</summary>
    private static async Task<bool> Answer(Stream stream, int headLength, string accept, TimeSpan timeout)
    {
        byte[] scratch = ArrayPool<byte>.Shared.Rent(Math.Max(headLength, SwitchingProtocols.Length + accept.Length + 4));
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            await stream.ReadExactlyAsync(scratch.AsMemory(0, headLength), deadline.Token).ConfigureAwait(false);
            SwitchingProtocols.CopyTo(scratch, 0);
            int length = SwitchingProtocols.Length + Encoding.ASCII.GetBytes(accept, scratch.AsSpan(SwitchingProtocols.Length));
            "\r\n\r\n"u8.CopyTo(scratch.AsSpan(length));
            await stream.WriteAsync(scratch.AsMemory(0, length + 4), deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException or EndOfStreamException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

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
}

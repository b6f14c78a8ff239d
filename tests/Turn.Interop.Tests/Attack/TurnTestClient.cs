using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// A TURN client over real UDP or TCP sockets, written for attacking a running daemon: it
/// authenticates (the 401 round trip is done once and the nonce reused), allocates, and then
/// sends whatever it is told, including peer addresses no well-behaved client would name. Answers
/// are matched to requests by transaction id; Data indications and ChannelData queue up for
/// <see cref="ReceiveDataAsync"/>.
/// </summary>
internal sealed class TurnTestClient : IAsyncDisposable
{
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _socket;
    private readonly bool _stream;
    private readonly IPEndPoint _server;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<TurnReply>> _pending = new();
    private readonly Channel<(StunAddress? Peer, ushort Channel, byte[] Data)> _data = Channel.CreateUnbounded<(StunAddress?, ushort, byte[])>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receive;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private TurnChallenge? _challenge;

    private TurnTestClient(Socket socket, bool stream, IPEndPoint server, TurnCredentials credentials)
    {
        _socket = socket;
        _stream = stream;
        _server = server;
        Credentials = credentials;
        _receive = stream ? ReceiveStreamAsync() : ReceiveDatagramsAsync();
    }

    public TurnCredentials Credentials { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Whether the server closed a TCP connection.</summary>
    public bool Closed { get; private set; }

    public static TurnTestClient Udp(IPEndPoint server, TurnCredentials credentials, IPAddress? bindTo = null)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(bindTo ?? (server.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback), 0));
        return new TurnTestClient(socket, stream: false, server, credentials);
    }

    public static async Task<TurnTestClient> TcpAsync(IPEndPoint server, TurnCredentials credentials, IPAddress? bindTo = null)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (bindTo is not null)
        {
            socket.Bind(new IPEndPoint(bindTo, 0));
        }

        await socket.ConnectAsync(server);
        return new TurnTestClient(socket, stream: true, server, credentials);
    }

    /// <summary>Allocate: REQUESTED-ADDRESS-FAMILY for IPv6, ADDITIONAL-ADDRESS-FAMILY for both; returns the relayed addresses.</summary>
    public async Task<List<StunAddress>> AllocateAsync(AddressFamily? family = AddressFamily.InterNetwork, bool dual = false)
    {
        TurnReply reply = await RequestAsync(StunMethod.Allocate, (ref StunWriter w) =>
        {
            TurnMessages.RequestedTransportUdp(ref w);
            if (dual)
            {
                w.AddByteReserved(StunAttributeType.AdditionalAddressFamily, AddressAttribute.FamilyIPv6);
            }
            else if (family == AddressFamily.InterNetworkV6)
            {
                w.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv6);
            }
        });
        Assert.True(reply.IsSuccess, $"Allocate failed: {reply}");
        return reply.XorAddresses(StunAttributeType.XorRelayedAddress);
    }

    public Task<TurnReply> CreatePermissionAsync(params StunAddress[] peers)
        => RequestAsync(StunMethod.CreatePermission, (ref StunWriter w) =>
        {
            foreach (StunAddress peer in peers)
            {
                w.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
            }
        });

    public Task<TurnReply> ChannelBindAsync(ushort channel, StunAddress peer)
        => RequestAsync(StunMethod.ChannelBind, (ref StunWriter w) =>
        {
            Span<byte> number = w.Reserve(StunAttributeType.ChannelNumber, 4);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(number, channel);
            number[2..].Clear();
            w.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
        });

    /// <summary>A signed request with the client's credentials; the first one learns the realm and nonce from a 401.</summary>
    public async Task<TurnReply> RequestAsync(StunMethod method, TurnAttributeWriter? attributes)
    {
        if (_challenge is null)
        {
            TurnReply challenge = await ExchangeAsync(TurnMessages.Unsigned(method, StunClass.Request, TurnMessages.TransactionId(), attributes));
            Assert.Equal(401, challenge.ErrorCode);
            _challenge = challenge.Challenge;
        }

        TurnReply reply = await ExchangeAsync(TurnMessages.Signed(method, TurnMessages.TransactionId(), attributes, Credentials, _challenge));
        if (reply.ErrorCode == 438)
        {
            _challenge = reply.Challenge;
            reply = await ExchangeAsync(TurnMessages.Signed(method, TurnMessages.TransactionId(), attributes, Credentials, _challenge));
        }

        return reply;
    }

    /// <summary>Sends a request as it is and waits for the answer with its transaction id (UDP: retransmitted twice).</summary>
    public async Task<TurnReply> ExchangeAsync(byte[] request)
    {
        string id = Convert.ToHexString(request, 8, 12);
        var answer = new TaskCompletionSource<TurnReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            for (int attempt = 0; attempt < (_stream ? 1 : 3); attempt++)
            {
                await SendRawAsync(request);
                Task done = await Task.WhenAny(answer.Task, Task.Delay(_stream ? AnswerTimeout : AnswerTimeout / 3));
                if (done == answer.Task)
                {
                    return await answer.Task;
                }
            }

            throw new TimeoutException($"no answer to {StunMessageType.GetMethod((ushort)((request[0] << 8) | request[1]))} from {_server} within {AnswerTimeout.TotalSeconds} s");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public Task SendIndicationAsync(StunAddress peer, byte[] data) => SendRawAsync(TurnMessages.SendIndication(peer, data));

    public Task SendChannelDataAsync(ushort channel, byte[] data)
    {
        byte[] packet = TurnMessages.ChannelData(channel, data);
        if (_stream && packet.Length % 4 != 0)
        {
            // RFC 8656 §12.5: over TCP, ChannelData is padded to a multiple of four.
            Array.Resize(ref packet, (packet.Length + 3) & ~3);
        }

        return SendRawAsync(packet);
    }

    public async Task SendRawAsync(byte[] packet)
    {
        await _sendLock.WaitAsync();
        try
        {
            if (_stream)
            {
                await _socket.SendAsync(packet, SocketFlags.None);
            }
            else
            {
                await _socket.SendToAsync(packet, SocketFlags.None, _server);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>The next relayed datagram (peer and channel, channel 0 for a Data indication), or null after <paramref name="timeout"/>.</summary>
    public async Task<(StunAddress? Peer, ushort Channel, byte[] Data)?> ReceiveDataAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            return await _data.Reader.ReadAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private async Task ReceiveDatagramsAsync()
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // An ICMP port unreachable from an earlier send; the socket goes on.
                continue;
            }

            Deliver(buffer.AsSpan(0, result.ReceivedBytes).ToArray());
        }
    }

    private async Task ReceiveStreamAsync()
    {
        byte[] buffer = new byte[1 << 17];
        int filled = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int read = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                filled += read;
                int consumed = 0;
                while (StreamFraming.TryGetFrame(buffer.AsSpan(consumed, filled - consumed), out int length, out _) == FrameStatus.Complete)
                {
                    Deliver(buffer.AsSpan(consumed, length).ToArray());
                    consumed += length;
                }

                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        Closed = true;
    }

    private void Deliver(byte[] packet)
    {
        if (packet.Length >= 4 && (packet[0] & 0xC0) == 0x40)
        {
            if (ChannelData.TryParse(packet, out ushort channel, out ReadOnlySpan<byte> payload))
            {
                _data.Writer.TryWrite((null, channel, payload.ToArray()));
            }

            return;
        }

        if (StunMessage.TryParse(packet, out StunMessage message) != StunParseStatus.Ok)
        {
            return;
        }

        if (message.Class == StunClass.Indication && message.Method == StunMethod.Data)
        {
            StunAddress? peer = message.TryGetAttribute(StunAttributeType.XorPeerAddress, out ReadOnlySpan<byte> value)
                && AddressAttribute.TryReadXor(value, message.CookieAndTransactionId, out StunAddress address) ? address : null;
            byte[] data = message.TryGetAttribute(StunAttributeType.Data, out ReadOnlySpan<byte> bytes) ? bytes.ToArray() : [];
            _data.Writer.TryWrite((peer, 0, data));
            return;
        }

        if (_pending.TryRemove(Convert.ToHexString(message.TransactionId), out TaskCompletionSource<TurnReply>? answer))
        {
            answer.TrySetResult(new TurnReply(packet));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _receive;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
        _sendLock.Dispose();
    }
}

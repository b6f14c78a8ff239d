using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// One allocation's relay socket. An async loop receives peer datagrams into a pinned buffer
/// with room in front, checks the permission, and hands the framed packet to the client's
/// sender; sends to peers are synchronous and use a per-thread <see cref="SocketAddress"/>.
/// </summary>
internal sealed class UdpRelayEndpoint : IRelayEndpoint
{
    /// <summary>Largest peer datagram relayed; larger ones are dropped.</summary>
    public const int MaxDatagram = 4096 - PeerData.Headroom - PeerData.Tailroom;

    [ThreadStatic]
    private static SocketAddress? t_peer4;

    [ThreadStatic]
    private static SocketAddress? t_peer6;

    private readonly Socket _socket;
    private readonly RelayClock _clock;
    private readonly TurnMetrics _metrics;
    private readonly ILogger _logger;
    private Task _loop = Task.CompletedTask;

    public UdpRelayEndpoint(Socket socket, RelayClock clock, TurnMetrics metrics, ILogger logger)
    {
        _socket = socket;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        Local = StunAddress.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!);
    }

    public StunAddress Local { get; }

    public bool SendTo(ReadOnlySpan<byte> data, StunAddress peer)
    {
        SocketAddress address = peer.IsIPv4
            ? t_peer4 ??= new SocketAddress(AddressFamily.InterNetwork)
            : t_peer6 ??= new SocketAddress(AddressFamily.InterNetworkV6);
        if (peer.Family != _socket.AddressFamily)
        {
            return false;
        }

        peer.WriteTo(address);
        try
        {
            _socket.SendTo(data, SocketFlags.None, address);
            _metrics.CountRelayed(RelayDirection.ToPeer, data.Length);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Unreachable network, full buffer, an ICMP error from an earlier send: the allocation lives on.
            _metrics.CountRelayDrop(RelayDirection.ToPeer);
            return false;
        }
    }

    public void Start(Allocation allocation) => _loop = ReceiveLoop(allocation);

    private async Task ReceiveLoop(Allocation allocation)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(PeerData.Headroom + MaxDatagram + PeerData.Tailroom, pinned: true);
        var from = new SocketAddress(_socket.AddressFamily);
        Memory<byte> receiveInto = buffer.AsMemory(PeerData.Headroom, MaxDatagram);
        byte[] transactionId = System.Security.Cryptography.RandomNumberGenerator.GetBytes(StunHeader.TransactionIdLength);
        uint sequence = 0;
        bool padForStream = allocation.FiveTuple.Protocol != TransportProtocol.Udp;
        while (!allocation.IsClosed)
        {
            int received;
            try
            {
                received = await _socket.ReceiveFromAsync(receiveInto, SocketFlags.None, from).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
            catch (SocketException e) when (!allocation.IsClosed)
            {
                // MessageSize for an oversized datagram, or an ICMP report from an earlier send.
                _metrics.CountRelayDrop(RelayDirection.ToClient);
                TransportLog.RelayReceiveFailed(_logger, Local.ToString(), e.SocketErrorCode.ToString());
                continue;
            }
            catch (SocketException)
            {
                return;
            }

            try
            {
                StunAddress peer = StunAddress.FromSocketAddress(from);
                if (!allocation.AdmitFromPeer(peer, received, _clock.NowMs, out ushort channel))
                {
                    // RFC 8656 §11.3: no permission for this peer (or over the bandwidth cap): silently dropped.
                    _metrics.CountRelayDrop(RelayDirection.ToClient);
                    continue;
                }

                BinaryPrimitives.WriteUInt32BigEndian(transactionId, ++sequence);
                (int offset, int length) = PeerData.Frame(buffer, received, peer, channel, padForStream, transactionId);
                if (allocation.Client.Send(buffer.AsSpan(offset, length)))
                {
                    _metrics.CountRelayed(RelayDirection.ToClient, received);
                }
                else
                {
                    _metrics.CountRelayDrop(RelayDirection.ToClient);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _metrics.CountError(allocation.FiveTuple.Protocol);
                TransportLog.HandlerFault(_logger, e, "relay", Local.ToString());
            }
        }
    }

    public void Dispose() => _socket.Dispose();
}

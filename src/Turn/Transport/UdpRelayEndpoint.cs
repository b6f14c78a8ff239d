using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// One allocation's relay socket. An async loop waits for a peer datagram without holding a
/// buffer (a zero-byte peek), then takes it whole into the calling thread's buffer, which has
/// room in front for the header and room for the largest UDP datagram; checks the permission, and
/// hands the framed packet to the client's sender. Sends to peers are synchronous and use a
/// per-thread <see cref="SocketAddress"/>.
/// </summary>
internal sealed class UdpRelayEndpoint : IRelayEndpoint
{
    /// <summary>Largest UDP payload (IPv6: 65,535 less the 8-byte UDP header); every peer datagram fits whole.</summary>
    public const int MaxDatagram = ushort.MaxValue - 8;

    [ThreadStatic]
    private static SocketAddress? t_peer4;

    [ThreadStatic]
    private static SocketAddress? t_peer6;

    private readonly Socket _socket;
    private readonly RelayClock _clock;
    private readonly TurnMetrics _metrics;
    private TransportProtocol _clientTransport;
    private readonly ILogger _logger;
    private Task _loop = Task.CompletedTask;

    public UdpRelayEndpoint(Socket socket, RelayClock clock, TurnMetrics metrics, ILogger logger)
    {
        _socket = socket;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        Local = StunAddress.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!);
        SocketErrorQueue.Enable(socket);
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

        // An ICMP error for an earlier datagram is reported by whichever call comes next, so a
        // send that fails for that reason is tried once more; the receive loop reads the error.
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                _socket.SendTo(data, SocketFlags.None, address);
                _metrics.CountRelayed(RelayDirection.ToPeer, _clientTransport, data.Length);
                return true;
            }
            catch (SocketException e) when (attempt == 0 && IsIcmpReport(e.SocketErrorCode))
            {
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Unreachable network, full buffer: counted, and the allocation lives on.
                break;
            }
        }

        // Counted as send_failed by the listener that handled the packet.
        return false;
    }

    private static bool IsIcmpReport(SocketError error)
        => error is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.MessageSize or SocketError.ConnectionReset;

    public void Start(Allocation allocation)
    {
        _clientTransport = allocation.FiveTuple.Protocol;
        _loop = ReceiveLoop(allocation);
    }

    private async Task ReceiveLoop(Allocation allocation)
    {
        var from = new SocketAddress(_socket.AddressFamily);
        byte[] transactionId = System.Security.Cryptography.RandomNumberGenerator.GetBytes(StunHeader.TransactionIdLength);
        uint sequence = 0;
        TransportProtocol clientTransport = allocation.FiveTuple.Protocol;
        while (!allocation.IsClosed)
        {
            try
            {
                // Waits for a datagram and leaves it queued; an idle allocation holds no buffer.
                await _socket.ReceiveFromAsync(Memory<byte>.Empty, SocketFlags.Peek, from).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
            catch (SocketException e) when (!allocation.IsClosed)
            {
                ReceiveFailed(allocation, e, transactionId, ref sequence);
                continue;
            }
            catch (SocketException)
            {
                return;
            }

            byte[] buffer = DatagramBuffers.Rent();
            try
            {
                int received = _socket.ReceiveFrom(buffer.AsSpan(PeerData.Headroom, MaxDatagram), SocketFlags.None, from);
                StunAddress peer = StunAddress.FromSocketAddress(from);
                bool clientIsIPv4 = allocation.FiveTuple.Client.IsIPv4 || AddressCanonicalizer.IsIPv4Mapped(allocation.FiveTuple.Client);
                if (!PeerData.Fits(received, peer, TurnAttributes.MinChannel, clientTransport, clientIsIPv4))
                {
                    // Too large even for ChannelData, the smaller frame: dropped before it costs the allocation's quota.
                    _metrics.CountDrop(Outcome.DroppedTooBig);
                    continue;
                }

                if (!allocation.AdmitFromPeer(peer, received, _clock.NowMs, out ushort channel, out bool overQuota))
                {
                    // RFC 8656 §11.3: no permission for this peer (or over the bandwidth cap): silently dropped.
                    _metrics.CountDrop(overQuota ? Outcome.DroppedQuota : Outcome.DroppedNoPermission);
                    continue;
                }

                if (!PeerData.Fits(received, peer, channel, clientTransport, clientIsIPv4))
                {
                    // Relayed whole or not at all: the client transport cannot carry a frame this large.
                    _metrics.CountDrop(Outcome.DroppedTooBig);
                    continue;
                }

                BinaryPrimitives.WriteUInt32BigEndian(transactionId, ++sequence);
                (int offset, int length) = PeerData.Frame(buffer, received, peer, channel, clientTransport != TransportProtocol.Udp, transactionId);
                if (allocation.Client.Send(buffer.AsSpan(offset, length)))
                {
                    _metrics.CountRelayed(RelayDirection.ToClient, clientTransport, received);
                }
                else
                {
                    _metrics.CountDrop(Outcome.DroppedSendFailed);
                }
            }
            catch (SocketException e) when (!allocation.IsClosed)
            {
                ReceiveFailed(allocation, e, transactionId, ref sequence);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _metrics.CountError(clientTransport);
                TransportLog.HandlerFault(_logger, e, "relay", Local.ToString());
            }
            finally
            {
                DatagramBuffers.Return(buffer);
            }
        }
    }

    /// <summary>An ICMP report for a datagram sent earlier is passed on; anything else is counted.</summary>
    private void ReceiveFailed(Allocation allocation, SocketException e, byte[] transactionId, ref uint sequence)
    {
        if (!ReportIcmpErrors(allocation, transactionId, ref sequence))
        {
            _metrics.CountError(allocation.FiveTuple.Protocol);
            TransportLog.RelayReceiveFailed(_logger, Local.ToString(), e.SocketErrorCode.ToString());
        }
    }

    /// <summary>
    /// RFC 8656 §11.5: each queued ICMP error about a peer the client has a permission for goes
    /// to the client as a Data indication with XOR-PEER-ADDRESS and ICMP, and no DATA.
    /// </summary>
    private bool ReportIcmpErrors(Allocation allocation, byte[] transactionId, ref uint sequence)
    {
        Span<byte> buffer = stackalloc byte[128];
        bool any = false;
        while (SocketErrorQueue.TryDequeue(_socket, out StunAddress peer, out byte type, out byte code, out uint info))
        {
            any = true;
            if (!IsReportable(peer.IsIPv4, type, code) || !allocation.HasPermission(peer, _clock.NowMs))
            {
                continue;
            }

            BinaryPrimitives.WriteUInt32BigEndian(transactionId, ++sequence);
            var writer = StunWriter.Create(buffer, StunMethod.Data, StunClass.Indication, transactionId);
            writer.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
            bool tooBig = peer.IsIPv4 ? type == 3 && code == 4 : type == 2;
            TurnAttributes.WriteIcmp(writer.Reserve(StunAttributeType.Icmp, 8), type, code, tooBig ? info : 0);
            if (allocation.Client.Send(writer.Written))
            {
                _metrics.CountIcmpReported();
            }
        }

        return any;
    }

    /// <summary>RFC 8656 §11.5: IPv4 Destination Unreachable and Time Exceeded; IPv6 Destination Unreachable, Packet Too Big and Time Exceeded.</summary>
    private static bool IsReportable(bool ipv4, byte type, byte code)
        => ipv4 ? type is 3 or 11 : type is 1 or 2 or 3 && code < 16;

    public void Dispose() => _socket.Dispose();
}

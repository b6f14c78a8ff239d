using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// One allocation's relay socket on the portable path (any OS): an async loop waits for a peer
/// datagram without holding a buffer (a zero-byte peek), then takes it whole into a shared buffer
/// with room around it, and lets <see cref="PacketPath"/> decide and frame what the client gets.
/// Sends to peers are synchronous and use a per-thread <see cref="SocketAddress"/>.
/// </summary>
internal sealed class UdpRelayEndpoint : IRelayEndpoint
{
    [ThreadStatic]
    private static SocketAddress? t_peer4;

    [ThreadStatic]
    private static SocketAddress? t_peer6;

    private readonly Socket _socket;
    private readonly RelayClock _clock;
    private readonly PacketPath _path;
    private readonly ILogger _logger;
    private Task _loop = Task.CompletedTask;

    public UdpRelayEndpoint(Socket socket, RelayClock clock, PacketPath path, ILogger logger)
    {
        _socket = socket;
        _clock = clock;
        _path = path;
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

    public void Start(Allocation allocation) => _loop = ReceiveLoop(allocation);

    private async Task ReceiveLoop(Allocation allocation)
    {
        var from = new SocketAddress(_socket.AddressFamily);
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
                ReceiveFailed(allocation, e);
                continue;
            }
            catch (SocketException)
            {
                return;
            }

            byte[] buffer = DatagramBuffers.Rent();
            try
            {
                int received = _socket.ReceiveFrom(buffer.AsSpan(PeerData.Headroom, PacketPath.MaxDatagram), SocketFlags.None, from);
                int length = _path.FromPeer(allocation, buffer, received, StunAddress.FromSocketAddress(from), _clock.NowMs, out int offset);
                if (length > 0)
                {
                    _path.Delivered(allocation, received, allocation.Client.Send(buffer.AsSpan(offset, length)));
                }
            }
            catch (SocketException e) when (!allocation.IsClosed)
            {
                ReceiveFailed(allocation, e);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _path.Error(allocation.FiveTuple.Protocol);
                TransportLog.HandlerFault(_logger, e, "relay", Local.ToString());
            }
            finally
            {
                DatagramBuffers.Return(buffer);
            }
        }
    }

    /// <summary>An ICMP report for a datagram sent earlier is passed on; anything else is counted.</summary>
    private void ReceiveFailed(Allocation allocation, SocketException e)
    {
        bool any = false;
        Span<byte> report = stackalloc byte[128];
        while (SocketErrorQueue.TryDequeue(_socket, out StunAddress peer, out byte type, out byte code, out uint info))
        {
            any = true;
            int length = _path.IcmpReport(allocation, peer, type, code, info, _clock.NowMs, report);
            if (length > 0 && allocation.Client.Send(report[..length]))
            {
                _path.IcmpReported();
            }
        }

        if (!any)
        {
            _path.Error(allocation.FiveTuple.Protocol);
            TransportLog.RelayReceiveFailed(_logger, Local.ToString(), e.SocketErrorCode.ToString());
        }
    }

    public void Dispose() => _socket.Dispose();
}

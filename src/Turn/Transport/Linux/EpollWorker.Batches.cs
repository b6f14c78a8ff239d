using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport.Linux;

internal sealed unsafe partial class EpollWorker
{
    /// <summary>
    /// Datagrams from clients on a listening socket: each is answered (STUN) or relayed to its peer
    /// (ChannelData, Send); the answers of a batch leave together.
    /// </summary>
    public void ReceiveFromClients(EpollUdpSocket socket)
    {
        for (int round = 0; round < RoundsPerEvent; round++)
        {
            int received = Receive(socket.Fd);
            if (received <= 0)
            {
                if (received < 0)
                {
                    _path.Error(TransportProtocol.Udp);
                }

                return;
            }

            Volatile.Write(ref _packets, _packets + received);
            long nowMs = _clock.NowMs;
            long unixSeconds = _clock.UnixSeconds;
            for (int i = 0; i < received; i++)
            {
                byte* name = _inNames + (i * Libc.SockaddrSlot);
                if (!Libc.TryReadSockaddr(name, (int)_in[i].Header.NameLength, out StunAddress source))
                {
                    continue;
                }

                var context = new RequestContext(TransportProtocol.Udp, source, socket.Local, socket.Endpoint.Role)
                {
                    NowMs = nowMs,
                    UnixSeconds = unixSeconds,
                    Client = socket.Listener,
                };
                byte* response = _responses + (i * PacketPath.ResponseLength);
                HandleResult result = _path.FromClient(new ReadOnlySpan<byte>(Slot(i) + PeerData.Headroom, (int)_in[i].Length), context, new Span<byte>(response, PacketPath.ResponseLength));
                if (result.Length > 0)
                {
                    // RFC 5780 §7.5: RESPONSE-PORT redirects the answer to another port of the same address.
                    StunAddress to = result.ResponsePort != 0 ? source.WithPort(result.ResponsePort) : source;
                    int fd = result.ResponseRole == socket.Endpoint.Role ? socket.Fd : socket.Listener.Plane.FdFor(source.Family, result.ResponseRole, Index, socket.Fd);
                    Queue(fd, response, result.Length, to, null, 0);
                }
            }

            FlushOut();
            if (received < Batch)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Datagrams from peers on an allocation's relay socket: each is judged and framed in place
    /// by <see cref="PacketPath.FromPeer"/> and goes to the client: in one sendmmsg for a UDP
    /// client, appended to the connection and flushed once for a TCP or TLS client.
    /// </summary>
    public void ReceiveFromPeers(EpollRelayEndpoint relay, Allocation allocation, uint events)
    {
        if ((events & Libc.EpollErr) != 0)
        {
            relay.ReportErrors(allocation, _path, _clock.NowMs);
        }

        for (int round = 0; round < RoundsPerEvent; round++)
        {
            int received = Receive(relay.Fd);
            if (received < 0)
            {
                // The socket's pending error: an ICMP report for a datagram sent earlier.
                if (!relay.ReportErrors(allocation, _path, _clock.NowMs))
                {
                    _path.Error(allocation.FiveTuple.Protocol);
                    return;
                }

                continue;
            }

            if (received == 0)
            {
                return;
            }

            long nowMs = _clock.NowMs;
            IClientSender client = allocation.Client;
            for (int i = 0; i < received; i++)
            {
                if (!Libc.TryReadSockaddr(_inNames + (i * Libc.SockaddrSlot), (int)_in[i].Header.NameLength, out StunAddress peer))
                {
                    continue;
                }

                int payload = (int)_in[i].Length;
                int length = _path.FromPeer(allocation, new Span<byte>(Slot(i), SlotStride), payload, peer, nowMs, out int offset);
                if (length == 0)
                {
                    continue;
                }

                if (client is EpollClientSender udp)
                {
                    Queue(udp.Fd, Slot(i) + offset, length, udp.Client, allocation, payload);
                }
                else if (client is IBufferedClientSender stream)
                {
                    bool appended = stream.Append(new ReadOnlySpan<byte>(Slot(i) + offset, length));
                    _path.Delivered(allocation, payload, appended);
                    if (appended)
                    {
                        MarkDirty(stream);
                    }
                }
                else
                {
                    _path.Delivered(allocation, payload, client.Send(new ReadOnlySpan<byte>(Slot(i) + offset, length)));
                }
            }

            FlushOut();
            FlushDirty();
            if (received < Batch)
            {
                return;
            }
        }
    }

    /// <summary>Adds one datagram to the outgoing batch; <paramref name="allocation"/> is set for relayed data, to count it once sent.</summary>
    private void Queue(int fd, byte* data, int length, StunAddress to, Allocation? allocation, int payload)
    {
        if (_outCount == Batch)
        {
            FlushOut();
        }

        int k = _outCount++;
        _outFd[k] = fd;
        _outAllocation[k] = allocation;
        _outPayload[k] = payload;
        _outIov[k].Base = data;
        _outIov[k].Length = (nuint)length;
        byte* name = _outNames + (k * Libc.SockaddrSlot);
        _out[k].Header = new Libc.MsgHdr
        {
            Name = name,
            NameLength = (uint)Libc.WriteSockaddr(to, name),
            Iov = &_outIov[k],
            IovLength = 1,
        };
    }

    /// <summary>Sends the outgoing batch: one sendmmsg per run of datagrams for the same socket.</summary>
    private void FlushOut()
    {
        int start = 0;
        while (start < _outCount)
        {
            int fd = _outFd[start];
            int end = start + 1;
            while (end < _outCount && _outFd[end] == fd)
            {
                end++;
            }

            int next = start;
            while (next < end)
            {
                int sent = Libc.SendMMsg(fd, _out + next, (uint)(end - next), Libc.MsgDontWait);
                if (sent <= 0)
                {
                    // This datagram could not go (full buffer, unreachable): dropped and counted; the rest are tried.
                    Sent(next, false);
                    next++;
                    continue;
                }

                for (int k = next; k < next + sent; k++)
                {
                    Sent(k, true);
                }

                next += sent;
            }

            start = end;
        }

        _outCount = 0;
    }

    private void Sent(int k, bool ok)
    {
        if (_outAllocation[k] is { } allocation)
        {
            _path.Delivered(allocation, _outPayload[k], ok);
            _outAllocation[k] = null;
        }
        else if (!ok)
        {
            _path.Error(TransportProtocol.Udp);
        }
    }

    private void MarkDirty(IBufferedClientSender stream)
    {
        for (int i = 0; i < _dirtyCount; i++)
        {
            if (ReferenceEquals(_dirty[i], stream))
            {
                return;
            }
        }

        if (_dirtyCount == Batch)
        {
            FlushDirty();
        }

        _dirty[_dirtyCount++] = stream;
    }

    private void FlushDirty()
    {
        for (int i = 0; i < _dirtyCount; i++)
        {
            _dirty[i]!.Flush();
            _dirty[i] = null;
        }

        _dirtyCount = 0;
    }
}

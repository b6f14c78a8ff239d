using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport.Linux;

internal sealed unsafe partial class EpollWorker
{
    /// <summary>The kernel takes at most 64 segments in one UDP GSO send.</summary>
    private const int MaxSegments = 64;

    /// <summary>A GSO send is one UDP datagram to the stack until it is cut: its payload stays under 64 KB.</summary>
    private const int MaxSegmentedBytes = 65000;

    /// <summary>Whether UDP GSO works here; cleared the first time the kernel says it does not.</summary>
    private static bool s_segmentation = true;

    /// <summary>
    /// The client transport of the batch being handled (null outside one): while it lasts, relayed
    /// data for peers joins the outgoing batch, and is counted under that transport.
    /// </summary>
    private TransportProtocol? _clientBatch;

    /// <summary>
    /// Datagrams from clients on a listening socket: each is answered (STUN) or relayed to its peer
    /// (ChannelData, Send); the answers of a batch leave together.
    /// </summary>
    public void ReceiveFromClients(EpollUdpSocket socket)
    {
        _clientBatch = TransportProtocol.Udp;
        try
        {
            ReceiveFromClientsRounds(socket);
        }
        finally
        {
            _clientBatch = null;
        }
    }

    private void ReceiveFromClientsRounds(EpollUdpSocket socket)
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

            // One client for the whole batch: how it takes data is decided once.
            IClientSender client = allocation.Client;
            var udp = client as EpollClientSender;
            IBufferedClientSender? stream = udp is null ? client as IBufferedClientSender : null;
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

                if (udp is not null)
                {
                    Queue(udp.Fd, Slot(i) + offset, length, udp.Client, allocation, payload);
                }
                else if (stream is not null)
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

    /// <summary>
    /// Relayed data from a client that this thread is handling in a batch: it joins the outgoing
    /// batch (the relay socket is kept open until it is sent), so that a client's datagrams to one
    /// peer leave together. False when the data is not in this thread's slots: the caller sends it.
    /// </summary>
    public bool TryQueueToPeer(FdHandle relay, ReadOnlySpan<byte> data, StunAddress peer)
    {
        fixed (byte* bytes = data)
        {
            if (_clientBatch is not { } transport || bytes < _slots || bytes + data.Length > _slotsEnd || !relay.TryAddRef())
            {
                return false;
            }

            int k = Queue(relay.Fd, bytes, data.Length, peer, null, data.Length);
            _outRelay[k] = relay;
            _outTransport[k] = transport;
            return true;
        }
    }

    /// <summary>Adds one datagram to the outgoing batch and returns its place; <paramref name="allocation"/> is set for relayed data, to count it once sent.</summary>
    private int Queue(int fd, byte* data, int length, StunAddress to, Allocation? allocation, int payload)
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
        return k;
    }

    /// <summary>
    /// Sends the outgoing batch socket by socket, each socket's datagrams in their order:
    /// consecutive datagrams of one size to one destination as one UDP GSO send (the kernel cuts
    /// them apart), the rest with one sendmmsg.
    /// </summary>
    private void FlushOut()
    {
        if (_outCount == 0)
        {
            return;
        }

        // Group by socket, keeping each socket's order: the headers are copied in that order.
        int count = 0;
        for (int i = 0; i < _outCount; i++)
        {
            int fd = _outFd[i];
            if (fd == -1)
            {
                continue;
            }

            for (int j = i; j < _outCount; j++)
            {
                if (_outFd[j] == fd)
                {
                    _sendOrder[count] = j;
                    _sendFd[count] = fd;
                    _send[count] = _out[j];
                    _sendIov[count] = _outIov[j];
                    _send[count].Header.Iov = &_sendIov[count];
                    _outFd[j] = -1;
                    count++;
                }
            }
        }

        int start = 0;
        while (start < count)
        {
            int fd = FdOf(start);
            int end = start + 1;
            while (end < count && FdOf(end) == fd)
            {
                end++;
            }

            int next = start;
            while (next < end)
            {
                int group = SegmentGroup(next, end);
                if (group >= 2)
                {
                    SendSegmented(fd, next, group);
                    next += group;
                    continue;
                }

                int runEnd = next + 1;
                while (runEnd < end && SegmentGroup(runEnd, end) < 2)
                {
                    runEnd++;
                }

                SendEach(fd, next, runEnd);
                next = runEnd;
            }

            start = end;
        }

        _outCount = 0;
    }

    private int FdOf(int position) => _sendFd[position];

    /// <summary>How many datagrams from <paramref name="first"/> can go as one GSO send: same destination, same size, 64 KB in all.</summary>
    private int SegmentGroup(int first, int end)
    {
        if (!s_segmentation)
        {
            return 1;
        }

        nuint size = _sendIov[first].Length;
        uint nameLength = _send[first].Header.NameLength;
        byte* name = _send[first].Header.Name;
        int count = 1;
        nuint total = size;
        while (first + count < end && count < MaxSegments)
        {
            int k = first + count;
            if (_sendIov[k].Length != size || total + size > MaxSegmentedBytes || _send[k].Header.NameLength != nameLength
                || !new ReadOnlySpan<byte>(_send[k].Header.Name, (int)nameLength).SequenceEqual(new ReadOnlySpan<byte>(name, (int)nameLength)))
            {
                break;
            }

            total += size;
            count++;
        }

        return count;
    }

    /// <summary>One sendmsg with UDP_SEGMENT; where the kernel refuses it, the datagrams go one by one.</summary>
    private void SendSegmented(int fd, int first, int count)
    {
        byte* control = stackalloc byte[24];
        *(ulong*)control = 18;
        *(int*)(control + 8) = Libc.SolUdp;
        *(int*)(control + 12) = Libc.UdpSegment;
        *(ushort*)(control + 16) = (ushort)_sendIov[first].Length;
        var message = new Libc.MsgHdr
        {
            Name = _send[first].Header.Name,
            NameLength = _send[first].Header.NameLength,
            Iov = &_sendIov[first],
            IovLength = (nuint)count,
            Control = control,
            ControlLength = 24,
        };
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (Libc.SendMsg(fd, &message, Libc.MsgDontWait) >= 0)
            {
                for (int k = first; k < first + count; k++)
                {
                    Sent(k, true);
                }

                return;
            }

            int errno = Libc.Errno;
            if (errno is Libc.ENoProtoOpt or Libc.EOpNotSupp or Libc.EIo)
            {
                // No UDP GSO here (an old kernel, or a device without it): never asked again.
                s_segmentation = false;
                break;
            }

            // An ICMP error for an earlier datagram is reported by whichever call comes next: once more.
            if (!Libc.IsIcmpReport(errno))
            {
                break;
            }
        }

        SendEach(fd, first, first + count);
    }

    /// <summary>Datagrams [first, end) to one socket with sendmmsg; one that cannot go is dropped and counted, the rest are tried.</summary>
    private void SendEach(int fd, int first, int end)
    {
        int next = first;
        bool retried = false;
        while (next < end)
        {
            int sent = Libc.SendMMsg(fd, _send + next, (uint)(end - next), Libc.MsgDontWait);
            if (sent <= 0)
            {
                // An ICMP error for an earlier datagram is reported by whichever call comes next: once more.
                if (!retried && Libc.IsIcmpReport(Libc.Errno))
                {
                    retried = true;
                    continue;
                }

                Sent(next, false);
                next++;
                retried = false;
                continue;
            }

            for (int k = next; k < next + sent; k++)
            {
                Sent(k, true);
            }

            next += sent;
            retried = false;
        }
    }


    /// <summary>Counts the datagram at <paramref name="position"/> of the send order once it went or was dropped.</summary>
    private void Sent(int position, bool ok)
    {
        int k = _sendOrder[position];
        if (_outRelay[k] is { } relay)
        {
            if (!ok)
            {
                _path.ToPeerFailed(_outTransport[k], _outPayload[k]);
            }

            relay.Release();
            _outRelay[k] = null;
        }
        else if (_outAllocation[k] is { } allocation)
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

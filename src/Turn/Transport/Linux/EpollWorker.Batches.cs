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


}

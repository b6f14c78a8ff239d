using Turn.Relay;

namespace Turn.Transport.Linux;

/// <summary>Sending what a batch queued: sendmmsg per socket, runs of equal datagrams as one UDP GSO send, and the stream clients a batch wrote to.</summary>
internal sealed unsafe partial class EpollWorker
{
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

using System.Net;
using System.Net.Sockets;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport.Linux;

/// <summary>
/// One allocation's relay socket on the Linux data plane: a bare descriptor in a data-plane
/// thread's epoll set, with no task, buffer or event-args object of its own. Sends to peers come
/// from whichever thread handled the client's packet, as one non-blocking sendto.
/// </summary>
internal sealed unsafe class EpollRelayEndpoint : IRelayEndpoint, IEpollSource
{
    /// <summary>How long a TCP or TLS client's reader waits for room in a full relay socket before the datagram is dropped.</summary>
    private const int SendWaitMs = 20;

    private readonly FdHandle _handle;
    private readonly EpollDataPlane _plane;
    private readonly Lock _registration = new();
    private Allocation? _allocation;
    private EpollWorker? _worker;
    private int _token = -1;

    private EpollRelayEndpoint(FdHandle handle, StunAddress local, EpollDataPlane plane)
    {
        _handle = handle;
        _plane = plane;
        Local = local;
    }

    public StunAddress Local { get; }

    public int Fd => _handle.Fd;

    /// <summary>Binds a non-blocking UDP socket to the address and port; null when the port is taken or the bind is refused.</summary>
    public static EpollRelayEndpoint? Open(EpollDataPlane plane, IPAddress address, int port, bool dontFragment)
    {
        bool ipv4 = address.AddressFamily == AddressFamily.InterNetwork;
        int fd = Libc.Socket(ipv4 ? Libc.AfInet : Libc.AfInet6, Libc.SockDgram | Libc.SockNonBlock | Libc.SockCloExec, 0);
        if (fd < 0)
        {
            return null;
        }

        StunAddress local = StunAddress.FromIPEndPoint(new IPEndPoint(address, port));
        byte* name = stackalloc byte[Libc.SockaddrSlot];
        int nameLength = Libc.WriteSockaddr(local, name);
        bool ok = ipv4
            ? Libc.SetOption(fd, Libc.SolIp, Libc.IpRecvErr, 1) == 0
            : Libc.SetOption(fd, Libc.SolIpv6, Libc.Ipv6V6Only, 1) == 0 && Libc.SetOption(fd, Libc.SolIpv6, Libc.Ipv6RecvErr, 1) == 0;

        // RFC 8656 §7.2 step 4: DONT-FRAGMENT is honoured by setting DF on everything this socket sends.
        if (ok && dontFragment)
        {
            ok = ipv4
                ? Libc.SetOption(fd, Libc.SolIp, Libc.IpMtuDiscover, Libc.IpPmtuDiscDo) == 0
                : Libc.SetOption(fd, Libc.SolIpv6, Libc.Ipv6DontFrag, 1) == 0;
        }

        if (!ok || Libc.Bind(fd, name, nameLength) != 0)
        {
            Libc.Close(fd);
            return null;
        }

        return new EpollRelayEndpoint(new FdHandle(fd), local, plane);
    }

    public bool SendTo(ReadOnlySpan<byte> data, StunAddress peer)
    {
        if (peer.Family != Local.Family)
        {
            return false;
        }

        // On a data-plane thread in the middle of a batch from clients, the datagram joins the batch.
        if (EpollWorker.Current is { } worker && worker.TryQueueToPeer(_handle, data, peer))
        {
            return true;
        }

        if (!_handle.TryAddRef())
        {
            return false;
        }

        try
        {
            byte* name = stackalloc byte[Libc.SockaddrSlot];
            int nameLength = Libc.WriteSockaddr(peer, name);
            fixed (byte* bytes = data)
            {
                // An ICMP error for an earlier datagram is reported by whichever call comes next, so
                // a send that fails for that reason is tried once more; the receive side reads the error.
                for (int attempt = 0; attempt < 2; attempt++)
                {
                    if (Libc.SendTo(_handle.Fd, bytes, (nuint)data.Length, Libc.MsgDontWait, name, nameLength) >= 0)
                    {
                        return true;
                    }

                    int errno = Libc.Errno;
                    if (errno == Libc.EAgain && EpollWorker.Current is null)
                    {
                        // A TCP or TLS client's own reader may wait a moment for room (its client then
                        // waits too, as TCP does); a data-plane thread never waits, and drops instead.
                        var poll = new Libc.PollFd { Fd = _handle.Fd, Events = Libc.PollOut };
                        Libc.Poll(&poll, 1, SendWaitMs);
                        continue;
                    }

                    if (!Libc.IsIcmpReport(errno))
                    {
                        break;
                    }
                }
            }

            // Unreachable network, full buffer: counted as send_failed, and the allocation lives on.
            return false;
        }
        finally
        {
            _handle.Release();
        }
    }


    /// <summary>Joins a data-plane thread's epoll set: the current thread's when it is one (the Allocate came in there), else the least loaded.</summary>
    public void Start(Allocation allocation)
    {
        _allocation = allocation;
        EpollWorker worker = EpollWorker.Current ?? _plane.LeastLoaded();
        lock (_registration)
        {
            if (_handle.IsClosed)
            {
                return;
            }

            _worker = worker;
            _token = worker.Register(_handle.Fd, this);
        }
    }

    /// <summary>The transport of the client whose allocation this socket relays for.</summary>
    public TransportProtocol Transport => _allocation?.FiveTuple.Protocol ?? TransportProtocol.Udp;

    public void OnReady(EpollWorker worker, uint events)
    {
        if (_allocation is not { IsClosed: false } allocation || !_handle.TryAddRef())
        {
            return;
        }

        try
        {
            worker.ReceiveFromPeers(this, allocation, events);
        }
        finally
        {
            _handle.Release();
        }
    }

    /// <summary>
    /// RFC 8656 §11.5: passes each queued ICMP error about a permitted peer to the client as a
    /// Data indication. False when nothing was queued (the error was something else).
    /// </summary>
    public bool ReportErrors(Allocation allocation, PacketPath path, long nowMs)
    {
        bool any = false;
        Span<byte> report = stackalloc byte[128];
        while (SocketErrorQueue.TryDequeue(_handle.Fd, out StunAddress peer, out byte type, out byte code, out uint info))
        {
            any = true;
            int length = path.IcmpReport(allocation, peer, type, code, info, nowMs, report);
            if (length > 0 && allocation.Client.Send(report[..length]))
            {
                path.IcmpReported();
            }
        }

        return any;
    }

    public void Dispose()
    {
        lock (_registration)
        {
            if (_token >= 0 && _handle.TryAddRef())
            {
                try
                {
                    _worker!.Unregister(_handle.Fd, _token);
                    _token = -1;
                }
                finally
                {
                    _handle.Release();
                }
            }

            _handle.Close();
        }
    }
}

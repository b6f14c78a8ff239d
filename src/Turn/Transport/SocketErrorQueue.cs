using System.Net.Sockets;
using Turn.Transport.Linux;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// Reads ICMP errors a UDP socket received for datagrams it sent (Linux IP_RECVERR /
/// IPV6_RECVERR and recvmsg with MSG_ERRQUEUE), so a relay can tell its client that a peer is
/// unreachable (RFC 8656 §11.5). .NET exposes neither, hence the calls through <see cref="Libc"/>.
/// </summary>
internal static unsafe class SocketErrorQueue
{
    private const int MsgErrQueue = 0x2000;
    private const byte OriginIcmp = 2;
    private const byte OriginIcmp6 = 3;

    /// <summary>Asks the kernel to queue ICMP errors for this socket.</summary>
    public static bool Enable(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            if (socket.AddressFamily == AddressFamily.InterNetwork)
            {
                socket.SetRawSocketOption(Libc.SolIp, Libc.IpRecvErr, BitConverter.GetBytes(1));
            }
            else
            {
                socket.SetRawSocketOption(Libc.SolIpv6, Libc.Ipv6RecvErr, BitConverter.GetBytes(1));
            }

            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Takes one queued ICMP error: the peer the failed datagram was sent to, and the ICMP type,
    /// code and (for "packet too big") MTU. False when the queue is empty.
    /// </summary>
    public static bool TryDequeue(Socket socket, out StunAddress peer, out byte type, out byte code, out uint info)
    {
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            return TryDequeue((int)socket.SafeHandle.DangerousGetHandle(), out peer, out type, out code, out info);
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>As above, for a descriptor the caller keeps open.</summary>
    public static bool TryDequeue(int fd, out StunAddress peer, out byte type, out byte code, out uint info)
    {
        peer = default;
        type = 0;
        code = 0;
        info = 0;
        byte* name = stackalloc byte[Libc.SockaddrSlot];
        byte* control = stackalloc byte[256];
        byte* payload = stackalloc byte[16];
        var iov = new Libc.IoVec { Base = payload, Length = 16 };
        var header = new Libc.MsgHdr
        {
            Name = name,
            NameLength = Libc.SockaddrSlot,
            Iov = &iov,
            IovLength = 1,
            Control = control,
            ControlLength = 256,
        };

        while (true)
        {
            header.NameLength = Libc.SockaddrSlot;
            header.ControlLength = 256;
            if (Libc.RecvMsg(fd, &header, MsgErrQueue | Libc.MsgDontWait) < 0)
            {
                return false;
            }

            if (TryRead(name, (int)header.NameLength, control, (int)header.ControlLength, out peer, out type, out code, out info))
            {
                return true;
            }
        }
    }

    private static bool TryRead(byte* name, int nameLength, byte* control, int controlLength, out StunAddress peer, out byte type, out byte code, out uint info)
    {
        type = 0;
        code = 0;
        info = 0;
        if (!Libc.TryReadSockaddr(name, nameLength, out peer))
        {
            return false;
        }

        // struct cmsghdr { size_t len; int level; int type; } then struct sock_extended_err.
        int offset = 0;
        while (offset + 16 <= controlLength)
        {
            var cmsg = new ReadOnlySpan<byte>(control + offset, controlLength - offset);
            long length = BitConverter.ToInt64(cmsg);
            int level = BitConverter.ToInt32(cmsg[8..]);
            int kind = BitConverter.ToInt32(cmsg[12..]);
            if (length < 16 || offset + length > controlLength)
            {
                return false;
            }

            if (((level == Libc.SolIp && kind == Libc.IpRecvErr) || (level == Libc.SolIpv6 && kind == Libc.Ipv6RecvErr)) && length >= 16 + 16)
            {
                ReadOnlySpan<byte> error = cmsg.Slice(16, 16);
                byte origin = error[4];
                if (origin is OriginIcmp or OriginIcmp6)
                {
                    type = error[5];
                    code = error[6];
                    info = BitConverter.ToUInt32(error[8..]);
                    return true;
                }
            }

            offset += (int)((length + 7) & ~7L);
        }

        return false;
    }
}

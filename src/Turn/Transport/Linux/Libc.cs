using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Turn.Wire;

namespace Turn.Transport.Linux;

/// <summary>
/// The Linux system calls the data plane makes directly: .NET exposes neither epoll nor
/// recvmmsg/sendmmsg nor UDP GSO. Constants and layouts are those of the x86_64 and arm64 ABIs.
/// </summary>
internal static unsafe partial class Libc
{
    public const int AfInet = 2;
    public const int AfInet6 = 10;
    public const int SockDgram = 2;
    public const int SockNonBlock = 0x800;
    public const int SockCloExec = 0x80000;

    public const int SolIp = 0;
    public const int IpMtuDiscover = 10;
    public const int IpRecvErr = 11;
    public const int IpPmtuDiscDo = 2;
    public const int SolIpv6 = 41;
    public const int Ipv6RecvErr = 25;
    public const int Ipv6V6Only = 26;
    public const int Ipv6DontFrag = 62;
    public const int SolUdp = 17;
    public const int UdpSegment = 103;

    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;

    public const int EpollCloExec = 0x80000;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int EpollCtlMod = 3;
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;

    public const int EfdNonBlock = 0x800;
    public const int EfdCloExec = 0x80000;

    public const int EIntr = 4;
    public const int EIo = 5;
    public const int ENoProtoOpt = 92;
    public const int EOpNotSupp = 95;
    public const int EAgain = 11;
    public const int EMsgSize = 90;
    public const int ENetUnreach = 101;
    public const int EConnReset = 104;
    public const int EConnRefused = 111;
    public const int EHostUnreach = 113;

    /// <summary>sockaddr_in6 is the larger of the two: 28 bytes.</summary>
    public const int SockaddrLength = 28;

    /// <summary>Room for one sockaddr in the batch tables, rounded for alignment.</summary>
    public const int SockaddrSlot = 32;

    /// <summary>struct msghdr is 56 bytes and struct mmsghdr 64 on 64-bit Linux.</summary>
    public const int MMsgHdrSize = 64;

    /// <summary>struct epoll_event is packed to 12 bytes on x86_64 and 16 elsewhere.</summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential, Size = MMsgHdrSize)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    private static readonly Lazy<bool> s_available = new(Probe);

    /// <summary>Whether the calls this data plane needs work here (Linux, 64-bit, an epoll that opens); probed once.</summary>
    public static bool Available() => s_available.Value;

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux() || IntPtr.Size != 8
            || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return false;
        }

        try
        {
            int epoll = EpollCreate1(EpollCloExec);
            if (epoll < 0)
            {
                return false;
            }

            Close(epoll);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>Writes the address as a sockaddr_in or sockaddr_in6; returns its length.</summary>
    public static int WriteSockaddr(StunAddress address, byte* destination)
    {
        var raw = new Span<byte>(destination, SockaddrLength);
        if (address.IsIPv4)
        {
            raw[..16].Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(raw, AfInet);
            BinaryPrimitives.WriteUInt16BigEndian(raw[2..], address.Port);
            address.WriteAddressBytes(raw.Slice(4, 4));
            return 16;
        }

        raw.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(raw, AfInet6);
        BinaryPrimitives.WriteUInt16BigEndian(raw[2..], address.Port);
        address.WriteAddressBytes(raw.Slice(8, 16));
        return SockaddrLength;
    }

    /// <summary>Reads a sockaddr_in or sockaddr_in6; false for another family.</summary>
    public static bool TryReadSockaddr(byte* source, int length, out StunAddress address)
    {
        var raw = new ReadOnlySpan<byte>(source, Math.Min(length, SockaddrLength));
        if (raw.Length >= 16 && BinaryPrimitives.ReadUInt16LittleEndian(raw) == AfInet)
        {
            address = new StunAddress(AddressFamily.InterNetwork, BinaryPrimitives.ReadUInt32BigEndian(raw[4..]), BinaryPrimitives.ReadUInt16BigEndian(raw[2..]));
            return true;
        }

        if (raw.Length >= 24 && BinaryPrimitives.ReadUInt16LittleEndian(raw) == AfInet6)
        {
            address = new StunAddress(AddressFamily.InterNetworkV6, BinaryPrimitives.ReadUInt128BigEndian(raw[8..]), BinaryPrimitives.ReadUInt16BigEndian(raw[2..]));
            return true;
        }

        address = default;
        return false;
    }

    public static int SetOption(int fd, int level, int name, int value) => SetSockOpt(fd, level, name, &value, sizeof(int));

    /// <summary>
    /// A send failed with the error an ICMP report for an earlier datagram left on the socket
    /// (the kernel reports it to whichever call comes next): worth one more try.
    /// </summary>
    public static bool IsIcmpReport(int errno)
        => errno is EConnRefused or EHostUnreach or ENetUnreach or EMsgSize or EConnReset;

    /// <summary>signal(2) with SIG_DFL: gives <paramref name="signal"/> its default disposition again.</summary>
    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint SetSignal(int signal, nint handler);

    public static void DefaultSignal(int signal) => SetSignal(signal, 0);

    public const int SigHup = 1;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>fcntl(F_DUPFD): a copy of the descriptor at the lowest free number at or above <paramref name="lowest"/>; closes nothing.</summary>
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlDupFd(int fd, int command, int lowest);

    public static int DupAtOrAbove(int fd, int lowest) => FcntlDupFd(fd, 0, lowest);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epoll, int operation, int fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epoll, byte* events, int max, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(int fd, byte* buffer, nuint length, int flags, byte* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nuint length, int flags);

    public const short PollOut = 0x004;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(int fd, MsgHdr* message, int flags);
}

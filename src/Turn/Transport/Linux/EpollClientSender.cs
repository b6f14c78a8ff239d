using Turn.Relay;
using Turn.Wire;

namespace Turn.Transport.Linux;

/// <summary>
/// Relayed data to a UDP client, from the listening address its allocation was made on. A
/// data-plane thread batches it with the rest of a receive; <see cref="Send"/> is the one-off.
/// </summary>
internal sealed unsafe class EpollClientSender(int fd, StunAddress client) : IClientSender
{
    public int Fd { get; } = fd;

    public StunAddress Client { get; } = client;

    public bool Send(ReadOnlySpan<byte> packet)
    {
        byte* name = stackalloc byte[Libc.SockaddrSlot];
        int nameLength = Libc.WriteSockaddr(Client, name);
        fixed (byte* data = packet)
        {
            return Libc.SendTo(Fd, data, (nuint)packet.Length, Libc.MsgDontWait, name, nameLength) >= 0;
        }
    }
}

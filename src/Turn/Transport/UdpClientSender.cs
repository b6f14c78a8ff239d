using System.Net;
using System.Net.Sockets;
using Turn.Relay;

namespace Turn.Transport;

/// <summary>Sends relayed data to a UDP client from the listening socket its allocation was made on.</summary>
internal sealed class UdpClientSender(Socket socket, SocketAddress client) : IClientSender
{
    public bool Send(ReadOnlySpan<byte> packet)
    {
        try
        {
            socket.SendTo(packet, SocketFlags.None, client);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }
}

using System.Net;
using System.Net.Sockets;

namespace Turn.Transport;

/// <summary>Socket settings .NET does not name.</summary>
internal static class SocketOptions
{
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    /// <summary>Every client's packets queue in a listening socket: 4 MiB, as far as the kernel allows.</summary>
    private const int ListenBufferBytes = 4 << 20;

    /// <summary>
    /// <paramref name="count"/> UDP sockets bound to one address and port (SO_REUSEPORT when
    /// more than one), each with large buffers; with port 0 the first picks the port and the
    /// others join it. Throws <see cref="SocketException"/> if it is taken, leaving nothing open.
    /// </summary>
    public static Socket[] BindUdpShards(IPEndPoint endPoint, int count)
    {
        var sockets = new Socket[count];
        try
        {
            IPEndPoint bindTo = endPoint;
            for (int i = 0; i < count; i++)
            {
                Socket socket = Create(bindTo.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                sockets[i] = socket;
                GrowBuffers(socket, ListenBufferBytes);
                if (count > 1)
                {
                    EnableReusePort(socket);
                }

                socket.Bind(bindTo);
                bindTo = (IPEndPoint)socket.LocalEndPoint!;
            }

            return sockets;
        }
        catch
        {
            foreach (Socket? socket in sockets)
            {
                socket?.Dispose();
            }

            throw;
        }
    }

    /// <summary>Lets several sockets share one UDP port, the kernel spreading datagrams by flow (Linux SO_REUSEPORT).</summary>
    public static void EnableReusePort(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
        }
    }

    /// <summary>
    /// Asks for large kernel buffers on a socket every client shares: a burst from many clients
    /// waits in the buffer instead of being dropped. The kernel caps the size at
    /// net.core.rmem_max and wmem_max; a refusal leaves the default.
    /// </summary>
    public static void GrowBuffers(Socket socket, int bytes)
    {
        try
        {
            socket.ReceiveBufferSize = Math.Max(socket.ReceiveBufferSize, bytes);
            socket.SendBufferSize = Math.Max(socket.SendBufferSize, bytes);
        }
        catch (SocketException)
        {
        }
    }

    /// <summary>An IPv6 socket takes IPv6 only, so "::" and "0.0.0.0" can both be listened on.</summary>
    public static Socket Create(AddressFamily family, SocketType type, ProtocolType protocol)
    {
        var socket = new Socket(family, type, protocol);
        if (family == AddressFamily.InterNetworkV6)
        {
            socket.DualMode = false;
        }

        return socket;
    }
}

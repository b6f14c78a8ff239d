using System.Net;
using System.Net.Sockets;

namespace Turn.Tests.Interop;

/// <summary>
/// Picks loopback ports that are free for both UDP and TCP on every given address, by binding
/// them and releasing them. A port can still be taken between the release and the child's bind;
/// on loopback with ports the kernel just handed out that race is rare enough for tests.
/// </summary>
internal static class LoopbackPorts
{
    private const int Attempts = 50;

    public static IPAddress Primary { get; } = IPAddress.Loopback;

    /// <summary>Linux routes all of 127.0.0.0/8 to lo, so this second loopback address needs no setup.</summary>
    public static IPAddress Alternate { get; } = IPAddress.Parse("127.0.0.2");

    public static int TakeOne() => Take(1)[0];

    /// <summary><paramref name="count"/> distinct ports free for UDP and TCP on each of <paramref name="addresses"/> (127.0.0.1 when none).</summary>
    public static int[] Take(int count, params IPAddress[] addresses)
    {
        IPAddress[] on = addresses.Length == 0 ? [Primary] : addresses;
        var held = new List<Socket>();
        var ports = new List<int>();
        try
        {
            for (int attempt = 0; ports.Count < count && attempt < Attempts * count; attempt++)
            {
                if (TryHold(on, 0, held, out int port))
                {
                    ports.Add(port);
                }
            }
        }
        finally
        {
            foreach (Socket socket in held)
            {
                socket.Dispose();
            }
        }

        return ports.Count == count ? [.. ports] : throw new InvalidOperationException($"could not find {count} free loopback port(s)");
    }

    /// <summary>A port P such that P and P + 1 are both free (the RFC 3489 `stun` client binds such a pair).</summary>
    public static int TakePair(params IPAddress[] addresses)
    {
        IPAddress[] on = addresses.Length == 0 ? [Primary] : addresses;
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            var held = new List<Socket>();
            try
            {
                if (TryHold(on, 0, held, out int port) && port < IPEndPoint.MaxPort && TryHold(on, port + 1, held, out _))
                {
                    return port;
                }
            }
            finally
            {
                foreach (Socket socket in held)
                {
                    socket.Dispose();
                }
            }
        }

        throw new InvalidOperationException("could not find two consecutive free loopback ports");
    }

    /// <summary>Binds TCP and UDP on <paramref name="port"/> (0: any) on every address; the sockets stay in <paramref name="held"/>.</summary>
    private static bool TryHold(IPAddress[] addresses, int port, List<Socket> held, out int chosen)
    {
        chosen = port;
        foreach (IPAddress address in addresses)
        {
            foreach (SocketType type in new[] { SocketType.Stream, SocketType.Dgram })
            {
                var socket = new Socket(address.AddressFamily, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
                held.Add(socket);
                try
                {
                    socket.Bind(new IPEndPoint(address, chosen));
                }
                catch (SocketException)
                {
                    return false;
                }

                chosen = ((IPEndPoint)socket.LocalEndPoint!).Port;
            }
        }

        return true;
    }
}

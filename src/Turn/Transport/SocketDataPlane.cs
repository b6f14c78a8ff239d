using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;

namespace Turn.Transport;

/// <summary>
/// The portable data plane: .NET sockets. Each UDP listening address is read by blocking threads
/// (one per SO_REUSEPORT socket); each relay socket by an async loop that holds no buffer while it waits.
/// </summary>
internal sealed class SocketDataPlane(int threads, RelayClock clock, ILogger logger) : IDataPlane
{
    private readonly UdpListenerSet _set = new();
    private readonly List<IUdpEndpoint> _listeners = [];
    private PacketPath? _path;

    public string Name => "sockets";

    public int Threads => threads;

    public IReadOnlyList<IUdpEndpoint> Listeners => _listeners;

    public long Packets => _set.Listeners.Sum(l => l.Packets);

    public long AllocatedBytes => _set.Listeners.Sum(l => l.AllocatedBytes);

    public IUdpEndpoint BindUdp(ListenEndpoint endpoint)
    {
        UdpListener listener = UdpListener.Bind(endpoint, threads);
        _set.Add(listener);
        _listeners.Add(listener);
        return listener;
    }

    public IRelayEndpoint? OpenRelay(IPAddress address, int port, bool dontFragment)
    {
        Socket socket = SocketOptions.Create(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (dontFragment)
            {
                // RFC 8656 §7.2 step 4: DONT-FRAGMENT is honoured by setting DF on everything this socket sends.
                if (address.AddressFamily == AddressFamily.InterNetwork)
                {
                    socket.DontFragment = true;
                }
                else
                {
                    socket.SetSocketOption(SocketOptionLevel.IPv6, (SocketOptionName)Linux.Libc.Ipv6DontFrag, 1);
                }
            }

            socket.Bind(new IPEndPoint(address, port));
            return new UdpRelayEndpoint(socket, clock, _path ?? throw new InvalidOperationException("The data plane has not started."), logger);
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    public void Start(PacketPath path)
    {
        _path = path;
        foreach (UdpListener listener in _set.Listeners)
        {
            listener.Start(path, _set, logger, clock);
        }
    }

    public string? Stall(TimeSpan limit)
    {
        foreach (UdpListener listener in _set.Listeners)
        {
            if (listener.Stall(limit) is { } reason)
            {
                return reason;
            }
        }

        return null;
    }

    public void Dispose() => _set.Dispose();
}

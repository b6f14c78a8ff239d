using System.Net;

namespace Turn.Transport;

/// <summary>
/// Where packets are received and sent: the UDP listening sockets and the relay sockets, and the
/// threads that read them. The Linux data plane (epoll, batched system calls, a few threads that
/// own every socket) is chosen where it works; the portable one (.NET sockets) everywhere else.
/// TCP and TLS clients have their own connections and are the same on both.
/// </summary>
internal interface IDataPlane : IDisposable
{
    /// <summary>"epoll" or "sockets", for the log and the status.</summary>
    string Name { get; }

    /// <summary>Threads that receive UDP (listening and relay sockets).</summary>
    int Threads { get; }

    IReadOnlyList<IUdpEndpoint> Listeners { get; }

    /// <summary>Binds a UDP listening address; throws <see cref="System.Net.Sockets.SocketException"/> when it cannot.</summary>
    IUdpEndpoint BindUdp(ListenEndpoint endpoint);

    /// <summary>A relay socket bound to <paramref name="address"/>:<paramref name="port"/>, not yet reading; null when the port is taken.</summary>
    Relay.IRelayEndpoint? OpenRelay(IPAddress address, int port, bool dontFragment);

    /// <summary>Starts receiving on every bound listener; packets go to <paramref name="path"/>.</summary>
    void Start(Server.PacketPath path);

    /// <summary>Datagrams the listening sockets took.</summary>
    long Packets { get; }

    /// <summary>Bytes the receiving threads allocated since they started: the proof that a packet costs none.</summary>
    long AllocatedBytes { get; }

    /// <summary>Why a receiving thread is not well (ended, or on one batch longer than <paramref name="limit"/>); null when all are.</summary>
    string? Stall(TimeSpan limit);
}

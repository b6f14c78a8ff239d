using System.Net;
using System.Net.Sockets;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Transport.Linux;

/// <summary>
/// A UDP listening address on the Linux data plane: one SO_REUSEPORT socket per data-plane
/// thread, so the kernel spreads clients over the threads by their address and each thread
/// reads its own socket. The sockets are .NET's (for binding and its errors) but are never read
/// through .NET.
/// </summary>
internal sealed class EpollUdpListener : IClientTransport, IUdpEndpoint, IDisposable
{
    private readonly Socket[] _sockets;

    private EpollUdpListener(EpollDataPlane plane, ListenEndpoint endpoint, Socket[] sockets)
    {
        Plane = plane;
        Endpoint = endpoint;
        _sockets = sockets;
        LocalEndPoint = (IPEndPoint)sockets[0].LocalEndPoint!;
        StunAddress local = StunAddress.FromIPEndPoint(LocalEndPoint);
        Shards = new EpollUdpSocket[sockets.Length];
        for (int i = 0; i < sockets.Length; i++)
        {
            Shards[i] = new EpollUdpSocket(this, (int)sockets[i].Handle, local);
        }
    }

    public EpollDataPlane Plane { get; }

    public ListenEndpoint Endpoint { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Socket i is read by data-plane thread i.</summary>
    public EpollUdpSocket[] Shards { get; }

    public AddressFamily Family => LocalEndPoint.AddressFamily;

    /// <summary>Binds one socket per thread to the endpoint; throws <see cref="SocketException"/> if it is taken.</summary>
    public static EpollUdpListener Bind(EpollDataPlane plane, ListenEndpoint endpoint, int shards)
        => new(plane, endpoint, SocketOptions.BindUdpShards(endpoint.EndPoint, shards));

    /// <summary>Relayed data for an allocation made here leaves from this address, as the client expects.</summary>
    public IClientSender SenderFor(StunAddress client)
    {
        // The thread handling the Allocate is one of this plane's, with its own shard; elsewhere the first.
        return new EpollClientSender(Shards[EpollWorker.Current?.Index ?? 0].Fd, client);
    }

    /// <summary>UDP has no connection whose end would end the allocation; its lifetime does.</summary>
    public void Attach(Allocation allocation)
    {
    }

    public void Dispose()
    {
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
    }
}

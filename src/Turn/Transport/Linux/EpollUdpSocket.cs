using Turn.Relay;
using Turn.Wire;

namespace Turn.Transport.Linux;

/// <summary>One SO_REUSEPORT socket of a UDP listening address, read by one data-plane thread.</summary>
internal sealed class EpollUdpSocket(EpollUdpListener listener, int fd, StunAddress local) : IEpollSource
{
    public EpollUdpListener Listener { get; } = listener;

    public ListenEndpoint Endpoint => Listener.Endpoint;

    public int Fd { get; } = fd;

    public StunAddress Local { get; } = local;

    public TransportProtocol Transport => TransportProtocol.Udp;

    public void OnReady(EpollWorker worker, uint events) => worker.ReceiveFromClients(this);
}

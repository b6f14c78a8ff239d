using Turn.Relay;

namespace Turn.Transport.Linux;

/// <summary>A socket registered with a data-plane thread, told when it has something to read.</summary>
internal interface IEpollSource
{
    /// <summary>The client transport its packets are counted under.</summary>
    TransportProtocol Transport { get; }

    /// <summary>Called on the owning thread when epoll reports <paramref name="events"/> for the socket.</summary>
    void OnReady(EpollWorker worker, uint events);
}

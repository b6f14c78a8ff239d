using System.Net.Sockets;

namespace Turn.Transport;

/// <summary>All UDP listeners, so a reply can leave from the socket of another RFC 5780 role.</summary>
internal sealed class UdpListenerSet : IDisposable
{
    private readonly List<UdpListener> _listeners = [];

    public IReadOnlyList<UdpListener> Listeners => _listeners;

    public void Add(UdpListener listener) => _listeners.Add(listener);

    public Socket? SocketFor(AddressFamily family, int role)
    {
        foreach (UdpListener listener in _listeners)
        {
            if (listener.Endpoint.Role == role && listener.LocalEndPoint.AddressFamily == family)
            {
                return listener.SendSocket;
            }
        }

        return null;
    }

    public void Dispose()
    {
        foreach (UdpListener listener in _listeners)
        {
            listener.Dispose();
        }
    }
}

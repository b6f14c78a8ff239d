using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Turn.Relay;

namespace Turn.Transport;

/// <summary>
/// Opens relay sockets on the relay addresses at random ports of the configured range (a random
/// pick, never a scan: a bind that finds its port taken tries another), through the data plane
/// that will read them; and holds the odd port of an EVEN-PORT reservation until its token is
/// used or it expires (RFC 8656 §7.2).
/// </summary>
internal sealed class UdpRelayPorts(
    IPAddress? relay4,
    IPAddress? relay6,
    int minPort,
    int maxPort,
    RelayClock clock,
    IDataPlane plane) : IRelayPorts, IDisposable
{
    /// <summary>RFC 8656 §7.2: a reserved port is held for about 30 seconds.</summary>
    private const long ReservationMs = 30_000;
    private const int Attempts = 64;

    private readonly ConcurrentDictionary<ulong, (IRelayEndpoint Endpoint, long ExpiresAt)> _reserved = new();

    public bool Supports(AddressFamily family) => AddressFor(family) is not null;

    public IRelayEndpoint? Open(AddressFamily family, bool evenPort, bool reserveNext, bool dontFragment, out ulong reservationToken)
    {
        reservationToken = 0;
        IPAddress? address = AddressFor(family);
        if (address is null)
        {
            return null;
        }

        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            int port = RandomNumberGenerator.GetInt32(minPort, maxPort + 1);
            if (evenPort)
            {
                port &= ~1;
                if (port < minPort || (reserveNext && port + 1 > maxPort))
                {
                    continue;
                }
            }

            IRelayEndpoint? endpoint = plane.OpenRelay(address, port, dontFragment);
            if (endpoint is null)
            {
                continue;
            }

            if (reserveNext)
            {
                IRelayEndpoint? next = plane.OpenRelay(address, port + 1, dontFragment);
                if (next is null)
                {
                    endpoint.Dispose();
                    continue;
                }

                reservationToken = NewToken();
                _reserved[reservationToken] = (next, clock.NowMs + ReservationMs);
            }

            return endpoint;
        }

        return null;
    }

    public IRelayEndpoint? TakeReserved(ulong token)
    {
        if (!_reserved.TryRemove(token, out (IRelayEndpoint Endpoint, long ExpiresAt) held))
        {
            return null;
        }

        if (held.ExpiresAt <= clock.NowMs)
        {
            held.Endpoint.Dispose();
            return null;
        }

        return held.Endpoint;
    }

    /// <summary>Releases reservations nobody claimed in time; called by the sweeper.</summary>
    public void Sweep(long nowMs)
    {
        foreach (KeyValuePair<ulong, (IRelayEndpoint Endpoint, long ExpiresAt)> entry in _reserved)
        {
            if (entry.Value.ExpiresAt <= nowMs && _reserved.TryRemove(entry.Key, out (IRelayEndpoint Endpoint, long ExpiresAt) held))
            {
                held.Endpoint.Dispose();
            }
        }
    }

    private IPAddress? AddressFor(AddressFamily family) => family == AddressFamily.InterNetwork ? relay4 : relay6;

    private static ulong NewToken()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes) | 1;
    }

    public void Dispose()
    {
        foreach ((IRelayEndpoint endpoint, long _) in _reserved.Values)
        {
            endpoint.Dispose();
        }

        _reserved.Clear();
    }
}

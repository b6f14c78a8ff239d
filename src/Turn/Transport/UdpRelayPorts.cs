using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;

namespace Turn.Transport;

/// <summary>
/// Binds relay sockets on the relay addresses at random ports of the configured range, and
/// holds the odd port of an EVEN-PORT reservation until its token is used or it expires (RFC 8656 §7.2).
/// </summary>
internal sealed class UdpRelayPorts(
    IPAddress? relay4,
    IPAddress? relay6,
    int minPort,
    int maxPort,
    RelayClock clock,
    TurnMetrics metrics,
    ILogger logger) : IRelayPorts, IDisposable
{
    /// <summary>RFC 8656 §7.2: a reserved port is held for about 30 seconds.</summary>
    private const long ReservationMs = 30_000;
    private const int Attempts = 64;
    private const int IPv6DontFragment = 62;

    private readonly ConcurrentDictionary<ulong, (Socket Socket, long ExpiresAt)> _reserved = new();

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

            Socket? socket = TryBind(address, port, dontFragment);
            if (socket is null)
            {
                continue;
            }

            if (reserveNext)
            {
                Socket? next = TryBind(address, port + 1, dontFragment);
                if (next is null)
                {
                    socket.Dispose();
                    continue;
                }

                reservationToken = NewToken();
                _reserved[reservationToken] = (next, clock.NowMs + ReservationMs);
            }

            return new UdpRelayEndpoint(socket, clock, metrics, logger);
        }

        return null;
    }

    public IRelayEndpoint? TakeReserved(ulong token)
    {
        if (!_reserved.TryRemove(token, out (Socket Socket, long ExpiresAt) held))
        {
            return null;
        }

        if (held.ExpiresAt <= clock.NowMs)
        {
            held.Socket.Dispose();
            return null;
        }

        return new UdpRelayEndpoint(held.Socket, clock, metrics, logger);
    }

    /// <summary>Releases reservations nobody claimed in time; called by the sweeper.</summary>
    public void Sweep(long nowMs)
    {
        foreach (KeyValuePair<ulong, (Socket Socket, long ExpiresAt)> entry in _reserved)
        {
            if (entry.Value.ExpiresAt <= nowMs && _reserved.TryRemove(entry.Key, out (Socket Socket, long ExpiresAt) held))
            {
                held.Socket.Dispose();
            }
        }
    }

    private IPAddress? AddressFor(AddressFamily family) => family == AddressFamily.InterNetwork ? relay4 : relay6;

    private static Socket? TryBind(IPAddress address, int port, bool dontFragment)
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
                    socket.SetSocketOption(SocketOptionLevel.IPv6, (SocketOptionName)IPv6DontFragment, 1);
                }
            }

            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    private static ulong NewToken()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes) | 1;
    }

    public void Dispose()
    {
        foreach ((Socket socket, long _) in _reserved.Values)
        {
            socket.Dispose();
        }

        _reserved.Clear();
    }
}

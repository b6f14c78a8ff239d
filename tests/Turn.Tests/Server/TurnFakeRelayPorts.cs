using System.Net;
using System.Net.Sockets;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Tests.Server;

/// <summary>
/// Relay ports without sockets: hands out <see cref="TurnFakeRelayEndpoint"/>s on 192.0.2.10 and
/// 2001:db8::10 from port 49152 up, for the families it is told to support; can run dry.
/// </summary>
internal sealed class TurnFakeRelayPorts(bool ipv4 = true, bool ipv6 = false) : IRelayPorts
{
    public static readonly IPAddress Relay4 = IPAddress.Parse("192.0.2.10");
    public static readonly IPAddress Relay6 = IPAddress.Parse("2001:db8::10");
    public const int MinPort = 49152;
    public const int MaxPort = 65535;

    private readonly Dictionary<ulong, TurnFakeRelayEndpoint> _reserved = [];
    private int _nextPort = MinPort;
    private ulong _nextToken = 0x1122334455667701;

    /// <summary>When set, <see cref="Open"/> finds no free port.</summary>
    public bool Exhausted { get; set; }

    /// <summary>Every endpoint handed to an allocation, in order.</summary>
    public List<TurnFakeRelayEndpoint> Opened { get; } = [];

    public bool Supports(AddressFamily family)
        => (family == AddressFamily.InterNetwork && ipv4) || (family == AddressFamily.InterNetworkV6 && ipv6);

    public IRelayEndpoint? Open(AddressFamily family, bool evenPort, bool reserveNext, bool dontFragment, out ulong reservationToken)
    {
        reservationToken = 0;
        if (!Supports(family) || Exhausted)
        {
            return null;
        }

        if (evenPort && (_nextPort & 1) != 0)
        {
            _nextPort++;
        }

        IPAddress address = family == AddressFamily.InterNetwork ? Relay4 : Relay6;
        var endpoint = new TurnFakeRelayEndpoint(StunAddress.FromIPEndPoint(new IPEndPoint(address, _nextPort++)));
        if (reserveNext)
        {
            reservationToken = _nextToken++;
            _reserved[reservationToken] = new TurnFakeRelayEndpoint(StunAddress.FromIPEndPoint(new IPEndPoint(address, _nextPort++)));
        }

        Opened.Add(endpoint);
        return endpoint;
    }

    public IRelayEndpoint? TakeReserved(ulong token)
    {
        if (!_reserved.Remove(token, out TurnFakeRelayEndpoint? endpoint))
        {
            return null;
        }

        Opened.Add(endpoint);
        return endpoint;
    }
}

using System.Net.Sockets;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Fuzz;

/// <summary>Relay ports without sockets on 192.0.2.10 and 2001:db8::10, handed out from 49152 up; EVEN-PORT reservations are kept by token.</summary>
internal sealed class FuzzRelayPorts : IRelayPorts
{
    public const int MinPort = 49152;
    public const int MaxPort = 65535;

    public static readonly StunAddress Relay4 = FuzzServer.At("192.0.2.10", 0);
    public static readonly StunAddress Relay6 = FuzzServer.At("2001:db8::10", 0);

    private readonly Dictionary<ulong, FuzzRelayEndpoint> _reserved = [];
    private int _nextPort = MinPort;
    private ulong _nextToken = 0x1122334455667701;

    public bool Supports(AddressFamily family) => family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;

    public IRelayEndpoint? Open(AddressFamily family, bool evenPort, bool reserveNext, bool dontFragment, out ulong reservationToken)
    {
        reservationToken = 0;
        if (!Supports(family) || _nextPort > MaxPort - 2)
        {
            return null;
        }

        if (evenPort && (_nextPort & 1) != 0)
        {
            _nextPort++;
        }

        StunAddress relay = family == AddressFamily.InterNetwork ? Relay4 : Relay6;
        var endpoint = new FuzzRelayEndpoint(relay.WithPort((ushort)_nextPort++));
        if (reserveNext)
        {
            reservationToken = _nextToken++;
            _reserved[reservationToken] = new FuzzRelayEndpoint(relay.WithPort((ushort)_nextPort++));
        }

        return endpoint;
    }

    public IRelayEndpoint? TakeReserved(ulong token) => _reserved.Remove(token, out FuzzRelayEndpoint? endpoint) ? endpoint : null;
}

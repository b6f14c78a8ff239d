using System.Net.Sockets;
using Turn.Wire;

namespace Turn.Server;

/// <summary>
/// The four transport addresses of RFC 5780 §4 for one address family: the primary and
/// alternate address, each on the primary and alternate port. A role indexes them:
/// bit 0 selects the alternate port, bit 1 the alternate address.
/// </summary>
internal sealed class NatBehaviorAddresses
{
    private readonly StunAddress[] _byRole;

    public NatBehaviorAddresses(StunAddress primary, StunAddress alternate, ushort alternatePort)
    {
        _byRole =
        [
            primary,
            primary.WithPort(alternatePort),
            alternate.WithPort(primary.Port),
            alternate.WithPort(alternatePort),
        ];
    }

    public AddressFamily Family => _byRole[0].Family;

    public StunAddress this[int role] => _byRole[role];

    /// <summary>OTHER-ADDRESS: the address differing in both IP and port (RFC 5780 §7.4).</summary>
    public static int OtherRole(int role) => role ^ 3;
}
